"""The reference recognition device (``consentdesk-gate``): no vault, only its own folder."""
