"""Leads in: marketing intake (POST /api/leads), UTM channels, rule-based explainable assignment,
the public pool (公海), and spreadsheet import/export. See docs/leads.md."""
