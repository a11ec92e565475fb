"""APScheduler set-up and the periodic jobs (the database is the schedule)."""
