"""Vues : cartes folium, figures plotly et tableaux construits à partir des tables calculées."""
