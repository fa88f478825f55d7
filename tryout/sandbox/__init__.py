"""The local try-out: a simulated clock per school and the page's view of families, staff and alerts."""
