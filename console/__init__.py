"""The web console: regulators, inspectors, enterprises and the public see and act in a browser.

A fifth process and only a client of the four services: every read and action goes through their gRPC
APIs with the signed-in person's own token, so it can never show or do what that role may not. Pages are
rendered on the server (Starlette, Jinja2) with a little JavaScript (htmx, Apache ECharts); Chinese first,
English switchable. It imports the platform (`shared`) and the generated stubs, never a service.
"""
