from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Repair(TestrepoCommand):
    """Rebuild the repository's index (and format file) from its stored runs.

    For a damaged or deleted index.sqlite: run summaries, the failing set and
    test durations are rebuilt from runs/; run metadata and partial or
    interrupted marks, which only the index held, are lost.
    """

    def take_action(self, parsed_args):
        report = api.repair(self.app.project)
        out = self.app.stdout
        if report.moved_index:
            out.write(f"Moved the old index to {report.moved_index}\n")
        if report.rewrote_format:
            out.write("Rewrote the format file\n")
        out.write(f"Rebuilt the index of {report.path} from {report.runs} stored run(s)\n")
        if report.unreadable:
            runs = ", ".join(str(run_id) for run_id in report.unreadable)
            out.write(f"Damaged streams (indexed as far as they could be read): runs {runs}\n")
        return 0
