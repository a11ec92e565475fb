"""Playbook practices that span handlers, the console and the scheduler (stage hand-offs)."""
