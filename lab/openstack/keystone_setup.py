"""Sets up the lab's Keystone in one Python process (keystone-manage costs a second or two of
imports per call): db_sync (Keystone's own migrations, on the lab's MariaDB), fernet_setup,
credential_setup, bootstrap.

Usage: KEYSTONE_ADMIN_PASSWORD=... /usr/bin/python3 keystone_setup.py KEYSTONE_CONF PUBLIC_URL REGION

Every step is the same code `keystone-manage STEP` runs. Keystone's CLI parses its config once
per call, so the parsed state is cleared between steps.
"""
import grp
import os
import pwd
import sys

from keystone.cmd import cli
import keystone.conf

CONF = keystone.conf.CONF


def manage(conf_file, *argv):
    CONF.clear()
    CONF.reset()
    cli.main(argv=['keystone-manage', '--config-file', conf_file, *argv])


if __name__ == '__main__':
    conf_file, public_url, region = sys.argv[1:4]
    admin_password = os.environ['KEYSTONE_ADMIN_PASSWORD']  # not on the command line
    manage(conf_file, 'db_sync')
    # Key repositories owned by whoever runs the lab (keystone-manage insists on being told).
    owner = ['--keystone-user', pwd.getpwuid(os.getuid()).pw_name,
             '--keystone-group', grp.getgrgid(os.getgid()).gr_name]
    manage(conf_file, 'fernet_setup', *owner)
    manage(conf_file, 'credential_setup', *owner)
    manage(conf_file, 'bootstrap',
           '--bootstrap-username', 'admin',
           # One argument: a random password may start with '-', which argparse takes for an option.
           f'--bootstrap-password={admin_password}',
           '--bootstrap-project-name', 'admin',
           '--bootstrap-role-name', 'admin',
           '--bootstrap-service-name', 'keystone',
           '--bootstrap-region-id', region,
           '--bootstrap-admin-url', public_url,
           '--bootstrap-public-url', public_url,
           '--bootstrap-internal-url', public_url)
    print('keystone_setup: done', flush=True)
