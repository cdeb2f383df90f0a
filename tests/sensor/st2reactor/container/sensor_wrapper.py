"""A stand-in for st2reactor.container.sensor_wrapper.SensorService
(StackStorm 3.9): what a sensor reaches through self.sensor_service.

The real constructor takes the SensorWrapper; this one takes the pack and
class names it would read from it. dispatch() records instead of publishing
to the message bus. Of the key-value shortcuts, list_values and delete_value
(which the pack's sensor uses to replay deferred alerts) pass on to the
datastore service as st2's do. Not imitated: dispatch_with_context,
get_user_info, get_value and set_value, which the pack's sensor does not
use."""
import logging

from st2common.services.datastore import SensorDatastoreService


class SensorService(object):
    def __init__(self, pack="autoscale", class_name="GovernorSensor"):
        # SensorWrapper.__init__ names its logger "SensorWrapper.<pack>.<class>".
        self._logger = logging.getLogger("SensorWrapper.%s.%s" % (pack, class_name))
        # SensorService.__init__: api_username="sensor_service".
        self._datastore_service = SensorDatastoreService(
            logger=self._logger, pack_name=pack, class_name=class_name,
            api_username="sensor_service")
        self.dispatched = []

    @property
    def datastore_service(self):
        return self._datastore_service

    def get_logger(self, name):
        logger = logging.getLogger("%s.%s" % (self._logger.name, name))
        logger.propagate = True
        return logger

    def dispatch(self, trigger, payload=None, trace_tag=None):
        self.dispatched.append((trigger, payload))

    def list_values(self, local=True, prefix=None, limit=None, offset=None):
        return self.datastore_service.list_values(local=local, prefix=prefix, limit=limit,
                                                  offset=offset)

    def delete_value(self, name, local=True, scope="st2kv.system"):
        return self.datastore_service.delete_value(name=name, local=local, scope=scope)
