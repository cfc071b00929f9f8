"""The figures' shared look: one palette and one layout for every cnnlab chart."""

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=90, b=10), height=400,
              title=dict(y=0.97, yanchor="top"),
              legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
