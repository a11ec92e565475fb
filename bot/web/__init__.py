"""The console and the record edit form: server-rendered pages under /console/ with OAuth login.

Never imports platform code: bot/app.py injects each platform's code→user-id exchange as a plain
callable (`identify`)."""
