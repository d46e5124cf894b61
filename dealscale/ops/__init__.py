"""Operations of the Discord integration: alerts, the health dashboard, metrics, throttles, the kill switch."""
