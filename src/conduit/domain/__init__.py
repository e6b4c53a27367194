"""Framework-free domain vocabulary: errors, views, commands, sorting."""
