"""The patrol API (mounted by patrols.api_urls): plans.py (plans and their lifecycle),
files.py (the itinerary as GPX and PDF), execution.py (track, movement restrictions),
notifications.py (the parties' notifications), shared.py (the plan and notification outputs).
"""
