"""The report of a run: what it found (``results``, written as JSON), the machine it ran
on (``machine``), the goals of issue 6 (``goals``) and the printed tables and ratios
(``tables``)."""
