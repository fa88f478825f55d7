"""The clock process: builds each school's jobs from its policy and runs them on school days."""
