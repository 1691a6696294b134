"""Pages for people in a browser: the manual run of the old importer URL and the summary report.
Server-rendered HTML (Jinja2), no script, no asset from elsewhere."""
