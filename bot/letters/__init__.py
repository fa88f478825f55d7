"""Stage letters from the template policy, rendered for staff to review; never sent by the bot."""
