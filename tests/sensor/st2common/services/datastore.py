"""A stand-in for st2common.services.datastore.SensorDatastoreService
(StackStorm 3.9), the renewing API client behind a sensor's
sensor_service.datastore_service. Only the client and token handling is
imitated, with the two key-value methods the pack's sensor uses
(list_values, delete_value) for keys outside the pack's local namespace
(local=False)."""
from datetime import timedelta

from st2client.client import Client
from st2common.services import access

# cfg.CONF.auth.service_token_ttl (st2common/config.py): 24 h by default.
# Tests may lower it.
service_token_ttl = 24 * 60 * 60


class SensorDatastoreService(object):
    def __init__(self, logger, pack_name, class_name, api_username):
        self._logger = logger
        self._pack_name = pack_name
        self._class_name = class_name
        self._api_username = api_username
        self._client = None
        # BaseDatastoreService.__init__: "expired" from the start, so the
        # first get_api_client() makes a token.
        self._token_expire = access._now()

    def get_api_client(self):
        """As st2's SensorDatastoreService.get_api_client: a new service token
        (create_token(..., ttl=service_token_ttl, service=True)) and a new
        Client when there is no client yet or when _token_expire has passed;
        otherwise the same client and token. _token_expire is computed after
        the token is made, so st2's idea of the expiry runs a moment later
        than the token's own."""
        if not self._client or self._token_expire <= access._now():
            self._logger.debug("Creating new Client object.")
            ttl = service_token_ttl
            temporary = access.create_token(username=self._api_username, ttl=ttl,
                                            service=True)
            self._client = Client(token=temporary.token)
            self._token_expire = access._now() + timedelta(seconds=ttl)
        return self._client

    def list_values(self, local=True, prefix=None, limit=None, offset=0):
        """As st2's: client.keys.get_all(prefix=..., limit=api.max_page_size
        (100 by default), offset=...). Errors propagate, as st2's do."""
        if local:
            raise NotImplementedError("the stand-in only lists global keys")
        return self.get_api_client().keys.get_all(prefix=prefix, limit=limit or 100,
                                                  offset=offset)

    def delete_value(self, name, local=True, scope="st2kv.system"):
        """As st2's: True once deleted; any failure is logged and False."""
        if local:
            raise NotImplementedError("the stand-in only deletes global keys")
        client = self.get_api_client()
        instance = type("KeyValuePair", (), {})()
        instance.id = instance.name = name
        try:
            client.keys.delete(instance=instance, params={"scope": scope})
        except Exception as e:
            self._logger.exception("Exception deleting value from datastore (name=%s): %s",
                                   name, e)
            return False
        return True
