"""The operations doors: the staff dashboard page (inside the admin) and the Prometheus endpoint."""

import hmac

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from dealscale.outbox import backlog
from linkedroles.selectors import linked_roles_summary
from ops import dashboard
from ops.charts import sparkline
from ops.health import run_checks
from ops.metrics import render_metrics
from ops.models import AlertIncident
from ops.rules import outbox_lagging
from ops.selectors import latest_preflight_run

_FORMATS = {
    "approval_rate": "{:.0%}",
    "bot_uptime": "{:.0%} available",
    "error_rate": "{:.1%}",
    "avg_response": "{:.0f} ms",
}


def discord_health_dashboard(request):
    """ "Discord Integration Health": figures, trends, health checks and the last preflight. Staff only
    (via admin_view)."""
    range_key = request.GET.get("range", "24h")
    if range_key not in dashboard.RANGES:
        range_key = "24h"
    figures = dashboard.health_figures(range_key=range_key)
    date_format = "%d %b" if range_key == "7d" else "%d %b %H:00"
    cards = [
        {
            "figure": figure,
            "chart": sparkline(
                figure.trend,
                label=figure.label,
                fmt=_FORMATS.get(figure.key, "{:g}"),
                date_format=date_format,
            ),
        }
        for figure in figures
    ]
    checks = run_checks()
    outbox = backlog()
    context = {
        **admin.site.each_context(request),
        "title": "Discord Integration Health",
        "cards": cards,
        "range_key": range_key,
        "ranges": dashboard.RANGES,
        "checks": checks,
        "healthy": all(checks.values()),
        "open_incidents": AlertIncident.objects.filter(resolved_at__isnull=True),
        "preflight": latest_preflight_run(),
        "linked_roles": linked_roles_summary(),
        "outbox": outbox,
        "outbox_stuck": outbox_lagging(outbox.oldest_due_seconds),
    }
    return TemplateResponse(request, "admin/ops/discord_health.html", context)


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format; a bearer token equal to METRICS_TOKEN, or a staff session."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        valid = bool(settings.METRICS_TOKEN) and scheme.lower() == "bearer"
        if not (valid and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())):
            return HttpResponse("Invalid metrics token.\n", status=403, content_type="text/plain")
    elif not request.user.is_authenticated:
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    elif not request.user.is_staff:
        return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
