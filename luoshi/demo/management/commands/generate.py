"""``luoshi generate``: the demo generator scaled up, written with bulk_create (a city: 5,000 units …)."""

from django.core.management.base import BaseCommand, CommandError

from luoshi.demo.generator import generate_bulk
from luoshi.demo.management.commands._common import prepare_database, print_summary


class Command(BaseCommand):
    help = (
        "Generate a large data set in bulk, e.g. a city: "
        "luoshi generate --orgs 5000 --items 50000 --reports 1000000 --seed 1"
    )

    def add_arguments(self, parser):
        parser.add_argument("--orgs", type=int, default=5000, help="about this many units (default 5000)")
        parser.add_argument("--items", type=int, default=50000, help="about this many items (default 50000)")
        parser.add_argument(
            "--reports",
            type=int,
            default=None,
            help="aim for about this many progress reports (default: natural)",
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--reset", action="store_true", help="flush the database first (deletes everything)"
        )
        parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")

    def handle(self, *args, **options):
        if options["orgs"] < 20 or options["items"] < 10:
            raise CommandError("--orgs 至少 20，--items 至少 10。")
        prepare_database(self, reset=options["reset"], migrate=not options["no_migrate"])
        result = generate_bulk(
            seed=options["seed"],
            n_orgs=options["orgs"],
            n_items=options["items"],
            n_reports=options["reports"],
            batch_size=options["batch_size"],
            log=self.stdout.write if options["verbosity"] >= 1 else None,
        )
        print_summary(self, result)
