"""Operations that combine the registry client, local state and the core: connecting from
settings, the scan, carrying out a plan, restoring from the journal, created dates."""
