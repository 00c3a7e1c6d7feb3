"""Playwright + Chromium : sur la carte de saisie, un référent dessine une zone avec l'outil polygone et voit
les contours des parcelles sous le pointeur ; sans accès Internet aux tuiles, le bandeau « fond de carte
indisponible » paraît et la surimpression vectorielle reste."""

import pytest

from test_pages_navigateur import attendre_application
from test_saisie_navigateur import SORTIES, _ouvrir_saisie_referent, _preparer_territoire

pytestmark = pytest.mark.navigateur

ZOOM_SAISIE = 18

# Éléments sous un point de la carte (coordonnées dans le cadre de la carte).
SOUS_LE_POINT = """([x, y]) => document.elementsFromPoint(x, y)
    .filter(e => e.classList && e.classList.contains('desimper-parcelle-fond')).length"""


def _ouvrir_carte(page, centre):
    """Cadre de la carte de saisie, vue posée au zoom de saisie sur ``centre`` ; rend (cadre, x, y) du centre."""
    iframe = page.locator("iframe[title*='streamlit_folium']").first
    iframe.wait_for(timeout=60_000)
    contenu = iframe.element_handle().content_frame()
    contenu.wait_for_function("() => window.map && window.map.getContainer", timeout=60_000)
    for _ in range(40):  # la carte peut encore se recadrer juste après son chargement
        contenu.evaluate("([lon, lat, z]) => window.map.setView([lat, lon], z, {animate: false})",
                         [centre.x, centre.y, ZOOM_SAISIE])
        page.wait_for_timeout(500)
        if contenu.evaluate("() => window.map.getZoom()") == ZOOM_SAISIE:
            break
    x, y = contenu.evaluate("""([lon, lat]) => {
        const p = window.map.latLngToContainerPoint([lat, lon]);
        const r = window.map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
    }""", [centre.x, centre.y])
    return iframe, contenu, x, y


def test_dessin_sur_les_contours_des_parcelles_hors_ligne(navigateur, dossier_demo, demarrer_serveur,
                                                        tmp_path_factory):
    dossier, magasin, centre = _preparer_territoire(dossier_demo, tmp_path_factory)
    magasin.fermer()
    url = demarrer_serveur(dossier)
    contexte, page, erreurs = _ouvrir_saisie_referent(navigateur, url)
    try:
        iframe, contenu, x, y = _ouvrir_carte(page, centre)

        # Surimpression : contours des parcelles (et du bâti) dans la carte, au zoom de saisie.
        contenu.wait_for_function(
            "() => document.querySelectorAll('path.desimper-parcelle-fond').length > 0", timeout=60_000)
        assert contenu.locator("path.desimper-parcelle-fond").count() > 0
        assert contenu.evaluate("() => window.map.getZoom()") == ZOOM_SAISIE
        assert contenu.evaluate("() => window.map.getPane('desimperParcellaire').style.display") == ""
        assert contenu.evaluate(SOUS_LE_POINT, [x, y]) > 0  # une parcelle sous le point où l'on va dessiner

        # Pas d'Internet : le fond ne se charge pas, la carte le dit en français, les contours restent.
        bandeau = contenu.locator(".desimper-fond-indisponible")
        bandeau.wait_for(state="visible", timeout=60_000)
        assert "Fond de carte indisponible" in bandeau.inner_text()

        # Le référent dessine une zone (outil polygone) : à chaque sommet, une parcelle est sous le pointeur.
        boite = iframe.bounding_box()
        outil = contenu.locator("a.leaflet-draw-draw-polygon")
        outil.click()
        sommets = [(x - 20, y - 15), (x + 20, y - 15), (x + 20, y + 15), (x - 20, y + 15)]
        sous_le_pointeur = []
        for sx, sy in sommets:
            page.mouse.move(boite["x"] + sx, boite["y"] + sy)
            sous_le_pointeur.append(contenu.evaluate(SOUS_LE_POINT, [sx, sy]))
            page.mouse.click(boite["x"] + sx, boite["y"] + sy)
            page.wait_for_timeout(250)
        page.mouse.click(boite["x"] + sommets[0][0], boite["y"] + sommets[0][1])
        assert all(nombre > 0 for nombre in sous_le_pointeur), sous_le_pointeur

        # La zone dessinée est reçue par la page, et la surimpression reste après la relance.
        page.get_by_role("heading", name="Aperçu").wait_for(timeout=60_000)
        attendre_application(page, "Saisir une opération")
        assert contenu.locator("path.desimper-parcelle-fond").count() > 0
        assert contenu.evaluate(SOUS_LE_POINT, [x, y]) > 0
        assert contenu.evaluate("() => window.map.getZoom()") == ZOOM_SAISIE
        assert not erreurs, erreurs
        page.screenshot(path=str(SORTIES / "carte_saisie_contours.png"))
    except Exception:
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / "carte_saisie_echec.png"), full_page=True)
        raise
    finally:
        contexte.close()
