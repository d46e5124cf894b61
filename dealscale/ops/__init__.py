"""Operations of the Discord integration: alerts, dashboard, metrics, throttles, kill switch."""
