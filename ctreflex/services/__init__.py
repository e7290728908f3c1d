"""Services own the database. They never import reflex: the UI, the API, the webhook and the
jobs all call the same functions."""
