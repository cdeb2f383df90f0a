"""A stand-in for st2client.client.Client (StackStorm 3.9), only the part a
sensor's datastore service relies on: which credential the client holds."""
import os


class Client(object):
    def __init__(self, api_url=None, token=None, api_key=None):
        self.endpoints = {"api": api_url or os.environ.get("ST2_API_URL")}
        # st2client/client.py Client.__init__ also writes the token (and the
        # API key) into the process environment ("a nasty hack", says st2).
        # Imitated because it is visible to a sensor: once its datastore
        # service renews, os.environ["ST2_AUTH_TOKEN"] is the new token, and
        # the token st2 put there at start is gone.
        if token:
            os.environ["ST2_AUTH_TOKEN"] = token
        self.token = token
        if api_key:
            os.environ["ST2_API_KEY"] = api_key
        self.api_key = api_key
