"""The operator's console (`/console/`): the day, the rooms, the rosters, what needs attention, the money.

A shell: its views parse input, call the read model (`bookdesk.bookings`) or one service, and render.
"""
