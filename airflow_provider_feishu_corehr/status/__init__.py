"""What a look at an offboarding's status means, and which records a wait watches.

Shared by the sensor (poke and reschedule modes, :mod:`..sensors`) and its trigger (deferrable mode,
:mod:`..triggers`), so the three modes decide, log and report the same way. Framework-free: it imports only
:mod:`..client` (errors, validation, models); the sensor and the trigger import it, never the other way round.

* :mod:`.statuses`: target and failure statuses, and the :class:`~.statuses.Outcome` of one record.
* :mod:`.looks`: a run of looks: failures in a row, slipping behind the poll interval, the "next look" log text.
* :mod:`.watch`: the validated :class:`~.watch.Watch` (one employment or a list, ``match``) and its decision.
* :mod:`.trigger_event`: the event the trigger sends and the sensor reads back.
"""
