from testrepo import api
from testrepo.cli.base import TestrepoLister


class Stats(TestrepoLister):
    """Show repository statistics (number of runs, latest counts, failing set)."""

    def take_action(self, parsed_args):
        stats = api.stats(self.app.project)
        return ("Statistic", "Value"), [(name, "-" if value is None else value)
                                        for name, value in stats.items()]
