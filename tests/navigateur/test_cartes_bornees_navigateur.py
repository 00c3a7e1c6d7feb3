"""Playwright + Chromium : la carte du bassin passe des cercles par commune aux opérations quand on zoome ; un
clic sur une opération affiche sa fiche à côté de la carte (aucune fenêtre embarquée) ; captures 1440 et 390 px."""

from pathlib import Path

import pytest
from test_pages_navigateur import attendre_application

pytestmark = pytest.mark.navigateur

SORTIES = Path(__file__).resolve().parents[1] / "sorties"


def _zoomer_puis_cliquer(page, largeur: int) -> str:
    """Carte de la page courante : cercles au départ, clic sur le plus gros (zoom sur la commune), opérations,
    clic sur la première ; renvoie le texte de la fiche affichée dans la page."""
    carte = page.frame_locator("iframe[title*='streamlit_folium']").first
    cercles = carte.locator("path.desimper-agregat")
    cercles.first.wait_for(state="attached", timeout=90_000)
    assert carte.locator("path.desimper-operation").count() == 0  # faible zoom : pas d'opération une à une
    assert carte.locator(".leaflet-popup-content").count() == 0
    page.wait_for_timeout(1_500)
    page.screenshot(path=str(SORTIES / f"carte_agregats_{largeur}.png"))
    cercles.first.dispatch_event("click")  # zoome sur la commune jusqu'au niveau des opérations
    points = carte.locator("path.desimper-operation")
    points.first.wait_for(state="attached", timeout=90_000)
    assert carte.locator("path.desimper-agregat").count() == 0
    attendre_application(page, "Carte")
    points.first.dispatch_event("click")
    fiche = page.locator(".desimper-fiche")
    fiche.first.wait_for(timeout=60_000)
    assert carte.locator(".leaflet-popup-content").count() == 0  # fiche dans la page, pas dans la carte
    return fiche.first.inner_text()


@pytest.mark.parametrize("largeur", [1440, 390])
def test_zoom_agregats_vers_operations_et_fiche_au_clic(navigateur, serveur_app, largeur):
    contexte = navigateur.new_context(viewport={"width": largeur, "height": 1000}, locale="fr-FR")
    page = contexte.new_page()
    erreurs = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    try:
        page.goto(serveur_app + "/carte", wait_until="domcontentloaded")
        attendre_application(page, "Carte")
        texte = _zoomer_puis_cliquer(page, largeur)
        assert texte.strip() and "Désimperméabilisé" in texte
        assert page.get_by_role("button", name="Ouvrir la fiche complète").count() == 1
        assert page.get_by_text("dans cette partie de la carte").count() >= 1
        page.locator(".desimper-fiche").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1_500)
        page.screenshot(path=str(SORTIES / f"carte_fiche_{largeur}.png"))
        assert page.locator("[data-testid='stException']").count() == 0 and not erreurs
    except Exception:
        page.screenshot(path=str(SORTIES / f"carte_bornee_echec_{largeur}.png"), full_page=True)
        raise
    finally:
        contexte.close()
