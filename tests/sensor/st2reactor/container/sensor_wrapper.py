"""A stand-in for st2reactor.container.sensor_wrapper.SensorService
(StackStorm 3.9): what a sensor reaches through self.sensor_service.

The real constructor takes the SensorWrapper; this one takes the pack and
class names it would read from it. dispatch() records instead of publishing
to the message bus. Not imitated: dispatch_with_context, get_user_info and
the key-value shortcuts (get_value, set_value, ...), which the pack's sensor
does not use."""
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
