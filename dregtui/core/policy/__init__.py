"""Retention policies: state once what to keep, and clean up a whole registry from it.

:mod:`~dregtui.core.policy.rules` is the file format (rules parsed and validated);
:mod:`~dregtui.core.policy.decisions` judges each tag by the rules.
"""
