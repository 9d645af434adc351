"""The pages of 统计: 上报 and the registry overview (filing.py), the services' statistics (stats.py)."""
