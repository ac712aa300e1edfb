from django.core.management import call_command

from world.models import DailyReport, TickRecord


def run(capsys, *args):
    call_command("simulate", "--no-progress", *args)
    return capsys.readouterr().out


def test_a_day_prints_its_digest_and_report_paths(world, capsys, settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path
    out = run(capsys, "--days", "1", "--dry-run")
    assert "day 1 digest " in out
    report = DailyReport.objects.get(world=world, day=1)
    assert report.markdown_path in out and report.json_path in out
    assert TickRecord.objects.filter(world=world).count() == 48
