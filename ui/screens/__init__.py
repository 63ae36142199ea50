"""The workstation's screens. Each takes its dependencies (desk, i18n, runner...) explicitly."""
