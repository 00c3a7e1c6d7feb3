"""Playwright + Chromium : le rapport annuel du bassin se télécharge depuis la Vue d'ensemble (issue 15, partie 3) ;
le visiteur reçoit la version publique : un PDF dont le texte ne contient aucun montant en euros."""

import io

import pytest

from test_pages_navigateur import attendre_application

pytestmark = pytest.mark.navigateur


def test_rapport_du_bassin_telecharge_depuis_la_vue_d_ensemble(page_app, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    page = page_app("/")
    attendre_application(page, "Vue d'ensemble")
    bouton = page.get_by_role("button", name="Rapport annuel du bassin (PDF)")
    bouton.scroll_into_view_if_needed()
    with page.expect_download(timeout=180_000) as telechargement:
        bouton.click()
    assert telechargement.value.suggested_filename.endswith("-public.pdf")
    chemin = tmp_path / telechargement.value.suggested_filename
    telechargement.value.save_as(chemin)
    lecteur = pypdf.PdfReader(io.BytesIO(chemin.read_bytes()))
    texte = "\n".join(p.extract_text() or "" for p in lecteur.pages)
    assert len(lecteur.pages) >= 3 and "Rapport annuel du bassin" in texte
    assert "€" not in texte and "Page 1 sur" in texte.replace("\u202f", " ").replace("\u00a0", " ")
    assert not page_app.erreurs
