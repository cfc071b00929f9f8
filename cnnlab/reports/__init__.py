"""What the dashboard's Train and Compare pages (and the CLI) say about recorded runs: which run a page
follows, the status line, labels and tables. Plain data in, plain data out: no Streamlit here."""
