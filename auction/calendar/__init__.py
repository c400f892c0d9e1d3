"""The daily auction calendar: templates whose times are rules relative to the delivery
day, turned into one auction per day (``template``), when each day is due (``days``) and
whether the day's fleet can carry what a template sells (``carry``)."""
