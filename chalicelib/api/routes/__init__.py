"""The API's routes, one chalice Blueprint per feature (`routes = Routes(__name__)`); app.py
registers each. A new feature: a module here, imported and registered in app.py's list."""
