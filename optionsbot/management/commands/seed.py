from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from optionsbot.env import env_str
from optionsbot.services import seed_run


class Command(BaseCommand):
    help = (
        "Create roles, the local admin account, the seed strategies and the periodic schedules (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        username = env_str("OPTIONSBOT_ADMIN_USER", "admin")
        report = seed_run(
            admin_username=username, admin_password=env_str("OPTIONSBOT_ADMIN_PASSWORD") or None
        )
        for name in report.strategies_created:
            self.stdout.write(f"created strategy {name}")
        for name in report.schedules_created:
            self.stdout.write(f"created schedule '{name}'")
        for name in report.schedules_waiting:
            self.stdout.write(f"schedule '{name}' waits for its task to be installed")
        if report.admin_password:
            self.stdout.write(
                self.style.WARNING(
                    f"\nCreated the admin account '{username}' with the password:\n\n"
                    f"    {report.admin_password}\n\n"
                    "It is shown only this once. Change it with: .venv/bin/python manage.py changepassword "
                    f"{username}\n"
                )
            )
        elif report.admin_created:
            self.stdout.write(f"created the admin account '{username}' with OPTIONSBOT_ADMIN_PASSWORD")
