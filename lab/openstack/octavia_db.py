"""Creates the lab's Octavia database on SQLite in one Python process.

Usage: /usr/bin/python3 octavia_db.py SQLITE_PATH

`octavia-db-manage upgrade head` fails on SQLite (its migrations ALTER constraints), so this
does what Octavia's own functional tests do (octavia/tests/functional/db/base.py): create the
tables from the models, seed the lookup tables from constants.SUPPORTED_*, and add the NIL_UUID
"DELETED-PLACEHOLDER" flavor profile, flavor, availability-zone profile and availability zone.
"""
import sqlite3
import sys
import warnings

import sqlalchemy
from sqlalchemy import orm

from octavia.common import constants
from octavia.db import base_models
from octavia.db import models

# Octavia 11's models trip SQLAlchemy 1.4's overlapping-relationship warnings (harmless noise).
warnings.filterwarnings('ignore', category=sqlalchemy.exc.SAWarning)

LOOKUP_TABLES = [
    (constants.SUPPORTED_PROVISIONING_STATUSES, models.ProvisioningStatus),
    (constants.SUPPORTED_HEALTH_MONITOR_TYPES, models.HealthMonitorType),
    (constants.SUPPORTED_LB_ALGORITHMS, models.Algorithm),
    (constants.SUPPORTED_PROTOCOLS, models.Protocol),
    (constants.SUPPORTED_OPERATING_STATUSES, models.OperatingStatus),
    (constants.SUPPORTED_SP_TYPES, models.SessionPersistenceType),
    (constants.SUPPORTED_AMPHORA_ROLES, models.AmphoraRoles),
    (constants.SUPPORTED_LB_TOPOLOGIES, models.LBTopology),
    (constants.SUPPORTED_VRRP_AUTH, models.VRRPAuthMethod),
    (constants.SUPPORTED_L7RULE_TYPES, models.L7RuleType),
    (constants.SUPPORTED_L7RULE_COMPARE_TYPES, models.L7RuleCompareType),
    (constants.SUPPORTED_L7POLICY_ACTIONS, models.L7PolicyAction),
    (constants.SUPPORTED_CLIENT_AUTH_MODES, models.ClientAuthenticationMode),
]


def main(path):
    # WAL first: the API and the worker write to this file concurrently.
    db = sqlite3.connect(path)
    db.execute('PRAGMA journal_mode=WAL')
    db.close()

    engine = sqlalchemy.create_engine('sqlite:///' + path)
    base_models.BASE.metadata.create_all(engine)
    with orm.Session(engine) as session, session.begin():
        for names, model in LOOKUP_TABLES:
            for name in names:
                session.add(model(name=name))
        session.add(models.FlavorProfile(
            id=constants.NIL_UUID, name='DELETED-PLACEHOLDER',
            provider_name=constants.DELETED, flavor_data='{}'))
        session.flush()
        session.add(models.Flavor(
            id=constants.NIL_UUID, flavor_profile_id=constants.NIL_UUID,
            name='DELETED-PLACEHOLDER', enabled=False,
            description='Placeholder for DELETED LBs with DELETED flavors'))
        session.add(models.AvailabilityZoneProfile(
            id=constants.NIL_UUID, name='DELETED-PLACEHOLDER',
            provider_name=constants.DELETED, availability_zone_data='{}'))
        session.flush()
        session.add(models.AvailabilityZone(
            availability_zone_profile_id=constants.NIL_UUID,
            name=constants.NIL_UUID, enabled=False,
            description='Placeholder for DELETED LBs with DELETED '
                        'availability zones'))
    print('octavia_db: created', path, flush=True)


if __name__ == '__main__':
    main(sys.argv[1])
