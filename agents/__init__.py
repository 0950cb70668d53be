"""Learners and baseline policies that act in the segenv environments."""
