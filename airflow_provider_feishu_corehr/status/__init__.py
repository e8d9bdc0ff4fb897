"""What a look at an offboarding's status means and which records a wait watches: the rules the sensor (poke and
reschedule modes) and its trigger (deferrable mode) share, below both; it imports only :mod:`..client`."""
