"""The Textual screens of monotui: cockpit, fleet, dialogs, help, and the command catalogue."""
