"""The school's mailbox: families' email replies and bounces, read over IMAP (issue 15)."""
