"""Playwright + Chromium : l'application s'ouvre et Leaflet dessine les 25 communes et leurs cercles
d'opérations (faible zoom : opérations regroupées par commune, issue 14)."""

import pytest

pytestmark = pytest.mark.navigateur


def test_vue_ensemble_dessine_25_communes(page_app):
    page = page_app("/")
    page.get_by_text("Vue d'ensemble").first.wait_for(timeout=60_000)
    carte = page.frame_locator("iframe[title*='streamlit_folium']").first
    communes = carte.locator("path.desimper-commune")
    communes.nth(24).wait_for(state="attached", timeout=60_000)
    assert communes.count() == 25
    assert carte.locator("path.desimper-agregat").count() > 0
    assert carte.locator("path.desimper-operation").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
