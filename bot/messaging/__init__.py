"""Messages to families: templates, the outbox, and the senders that deliver it."""
