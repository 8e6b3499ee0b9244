"""The pure core: tags and their order, selectors and the TUI's filter, the inventory model,
deletion plans, space accounting, policy rules, OCI facts, text safety and the errors every
layer raises. No I/O, no HTTP stack, no Textual."""
