"""Rapports PDF (issue 15, partie 3) : les PDF s'ouvrent, leur texte s'extrait (pypdf) et porte les mêmes chiffres
que les pages pour les mêmes filtres ; la version publique ne contient aucun montant en euros ; textes saisis
hostiles rendus en texte ; demandes fautives refusées en français sans fichier écrit ; ligne de commande."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil

import pytest

import cli
from donnees.comptes import VISITEUR, Utilisateur, creer_compte
from donnees.config import url_base
from donnees.droits import ErreurDroits
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin

MOT_DE_PASSE = "une phrase de passe solide"
SETE = "34301"
ADMIN = Utilisateur("admin@bassin.fr", "Alice Admin", "administrateur")
REFERENT = Utilisateur("ref@sete.fr", "Rémi Référent", "referent", frozenset({SETE}))
FINANCEUR = Utilisateur("fin@agence.fr", "Fanny Financeuse", "financeur")

pypdf = pytest.importorskip("pypdf") if os.environ.get("CI") != "true" else __import__("pypdf")


def _chromium_requis() -> None:
    """Les graphiques passent par Chromium (Kaleido) : sous CI il doit être là ; ailleurs, test sauté sans lui."""
    if shutil.which("chromium") is None and os.environ.get("CI") != "true":
        pytest.skip("Chromium absent : graphiques des rapports non rendus")


@functools.lru_cache(maxsize=16)
def _texte(pdf: bytes) -> str:
    """Texte extrait du PDF (une fois par PDF), espaces insécables ramenées à des espaces simples."""
    lecteur = pypdf.PdfReader(io.BytesIO(pdf))
    texte = "\n".join(page.extract_text() or "" for page in lecteur.pages)
    return _normaliser(texte)


def _normaliser(texte: str) -> str:
    return re.sub(r"[ \u00a0\u202f\u2009]+", " ", texte)


def _annee_demo(dossier) -> int:
    operations = Magasin(url_base(dossier)).lire_operations()
    return int(operations.loc[operations["statut"] == "realisee", "annee"].max())


@pytest.fixture(scope="module")
def rapports(dossier_demo, tmp_path_factory):
    """Les rapports de la démo, produits une fois : bassin complet, bassin public (par la ligne de commande),
    commune complet et public, financeur."""
    from services.rapports import DemandeRapport, produire_rapport

    _chromium_requis()
    annee = _annee_demo(dossier_demo)
    financeur = str(Magasin(url_base(dossier_demo)).lire_financements()["financeur"].value_counts().index[0])
    sortie = tmp_path_factory.mktemp("rapports") / "bassin-public.pdf"
    code = cli.main(["rapport", "--bassin", "--annee", str(annee), "--public", "--sortie", str(sortie),
                     "--dossier", str(dossier_demo)])
    assert code == 0 and sortie.exists()
    return {"annee": annee, "nom_financeur": financeur,
            "bassin": produire_rapport(DemandeRapport("bassin", annee), ADMIN, dossier_demo),
            "public": sortie.read_bytes(),
            "commune": produire_rapport(DemandeRapport("commune", annee, code_insee=SETE), REFERENT, dossier_demo),
            "commune_public": produire_rapport(DemandeRapport("commune", annee, code_insee=SETE, public=True),
                                               REFERENT, dossier_demo),
            "financeur": produire_rapport(DemandeRapport("financeur", annee, financeur=financeur), FINANCEUR,
                                          dossier_demo)}


def test_rapports_s_ouvrent_pages_numerotees_et_couverture(rapports):
    for nom in ("bassin", "public", "commune", "commune_public", "financeur"):
        pdf = rapports[nom]
        assert pdf.startswith(b"%PDF"), nom
        lecteur = pypdf.PdfReader(io.BytesIO(pdf))
        nombre = len(lecteur.pages)
        assert nombre >= 3, nom
        texte = _texte(pdf)
        assert f"Page 1 sur {nombre}" in texte and f"Page {nombre} sur {nombre}" in texte, nom
        # Couverture : date, filtres en vigueur, version ; fin : sources et licences.
        assert "Établi le" in texte and "Filtres en vigueur" in texte and "Périmètre :" in texte, nom
        assert "Sources, méthode et licences" in texte and "Licence Ouverte" in texte, nom
    assert "Rapport annuel du bassin" in _texte(rapports["bassin"])
    assert "Rapport communal" in _texte(rapports["commune"]) and "Sète" in _texte(rapports["commune"])
    assert rapports["financeur"] and "Rapport financeur" in _texte(rapports["financeur"])


def test_rapport_du_bassin_sections_et_graphiques(rapports):
    texte = _texte(rapports["bassin"])
    annee = rapports["annee"]
    for titre in ("Chiffres clés", f"Apport de l'année {annee}", "Trajectoire et objectifs",
                  "Compensation de l'imperméabilisation (SDAGE)", "Carte", "Résultats par commune",
                  f"Opérations de l'année {annee}", "Retours d'expérience"):
        assert titre in texte, titre
    # Graphiques en SVG (vectoriels) : leurs textes s'extraient — légende de la trajectoire, ligne de la cible.
    assert "Objectif" in texte and "Réalisé" in texte and "Cible SDAGE" in texte
    assert "Graphique indisponible" not in texte
    assert len(rapports["bassin"]) < 10 * 1024 * 1024


def test_version_publique_sans_euro_ni_donnee_personnelle(rapports, dossier_demo):
    for nom in ("public", "commune_public"):
        texte = _texte(rapports[nom])
        assert "€" not in texte and "Coût" not in texte and "Aides" not in texte, nom
        assert "version publique" in texte.lower() or "publique :" in texte, nom
    operations = Magasin(url_base(dossier_demo)).lire_operations()
    contacts = [c for c in operations["contact"].dropna().astype(str) if "@" in c][:20]
    texte = _texte(rapports["public"])
    assert contacts and not any(c in texte for c in contacts)
    # La version complète, elle, montre les montants.
    assert "€" in _texte(rapports["bassin"]) and "€" in _texte(rapports["commune"])


def test_rapport_financeur_aides_et_cout_efficacite(rapports, dossier_demo):
    texte = _texte(rapports["financeur"]).replace("\n", " ")
    financeur = rapports["nom_financeur"]
    assert f"Rapport financeur {rapports['annee']} — {financeur}" in texte
    assert "Aides du financeur" in texte and "Aides par financeur" in texte and "Coût-efficacité" in texte
    from vues.format import formater_nombre

    financements = Magasin(url_base(dossier_demo)).lire_financements()
    operations = Magasin(url_base(dossier_demo)).lire_operations()
    realisees = operations.loc[(operations["statut"] == "realisee") & ~operations["supprimee"].astype(bool), "id"]
    siens = financements[(financements["financeur"] == financeur) & financements["operation_id"].isin(realisees)]
    attendu = _normaliser(formater_nombre(float(siens["montant_eur"].sum()), 0, "€"))
    assert attendu in texte, attendu


def _metriques(appli) -> dict[str, str]:
    return {m.label: _normaliser(m.value) for m in appli.metric}


def test_memes_chiffres_que_la_vue_d_ensemble(monkeypatch, dossier_demo_copie, rapports):
    """Même utilisateur, mêmes filtres (par défaut) : chaque carte de chiffres de la Vue d'ensemble se retrouve,
    à l'identique, dans le rapport du bassin — version complète (administrateur) et publique (visiteur). La copie
    de la démo porte les mêmes données que les rapports du module."""
    from outils import lancer_appli

    from services.rapports import DemandeRapport, construire_contenu_rapport

    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE,
                         auteur="test")
    annee = _annee_demo(dossier_demo_copie)
    for compte, utilisateur, pdf in ((admin, ADMIN, rapports["bassin"]), (None, VISITEUR, rapports["public"])):
        appli = lancer_appli(monkeypatch, dossier_demo_copie, compte)
        assert not appli.exception, appli.exception
        metriques = {label: valeur for label, valeur in _metriques(appli).items() if "(projection)" not in label}
        assert len(metriques) >= 6
        contenu = construire_contenu_rapport(DemandeRapport("bassin", annee), utilisateur, dossier_demo_copie)
        cartes = {libelle: _normaliser(valeur) for libelle, valeur, _ in contenu.sections[0].chiffres}
        assert {k: v for k, v in cartes.items() if k in metriques} == metriques, (cartes, metriques)
        assert set(metriques) <= set(cartes)
        texte = _texte(pdf)
        for valeur in metriques.values():
            assert valeur in texte, valeur
        # Bouton de téléchargement du rapport sur la page.
        assert any("Rapport annuel du bassin (PDF)" in b.proto.label for b in appli.get("download_button"))


def test_memes_chiffres_que_la_page_commune(monkeypatch, dossier_demo_copie):
    from outils import lancer_appli

    from services.rapports import DemandeRapport, construire_contenu_rapport

    _chromium_requis()
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    compte = creer_compte(magasin, "ref@sete.fr", "Rémi Référent", "referent", [SETE], MOT_DE_PASSE, auteur="test")
    appli = lancer_appli(monkeypatch, dossier_demo_copie, compte)
    appli.query_params["code"] = SETE
    appli.switch_page("pages/commune.py").run()
    assert not appli.exception, appli.exception
    metriques = _metriques(appli)
    contenu = construire_contenu_rapport(DemandeRapport("commune", _annee_demo(dossier_demo_copie), code_insee=SETE),
                                         REFERENT, dossier_demo_copie)
    cartes = {libelle: _normaliser(valeur) for libelle, valeur, _ in contenu.sections[0].chiffres}
    communs = set(metriques) & set(cartes)
    assert len(communs) >= 5, (metriques, cartes)
    assert {k: cartes[k] for k in communs} == {k: metriques[k] for k in communs}


def test_textes_saisis_hostiles_rendus_en_texte(dossier_demo_copie):
    """Un nom et un retour d'expérience piégés (balises, image distante) restent du texte ; aucune ressource
    externe n'est chargée."""
    from services.rapports import DemandeRapport, construire_contenu_rapport
    from vues.rapports import convertir_pdf, rendre_rapport_html

    _chromium_requis()
    magasin = Magasin(url_base(dossier_demo_copie))
    operations = magasin.lire_operations()
    annee = _annee_demo(dossier_demo_copie)
    cible = operations[(operations["statut"] == "realisee") & (operations["annee"] == annee)
                       & (operations["validation"] == "validee")].iloc[0]
    piege = '<img src="http://exemple.invalid/x.png"><script>alert(1)</script>École & Cie'
    with magasin.moteur.begin() as connexion:
        from sqlalchemy import text

        connexion.execute(text("UPDATE operation SET nom = :nom, retour_experience = :retour WHERE id = :id"),
                          {"nom": piege, "retour": "Leçon <b>gras</b> & « guillemets »", "id": int(cible["id"])})
    demande = DemandeRapport("bassin", annee)
    html = rendre_rapport_html(construire_contenu_rapport(demande, ADMIN, dossier_demo_copie))
    assert "<script>" not in html and '<img src="http' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;École &amp; Cie" in html
    texte = _texte(convertir_pdf(html))
    assert "<script>alert(1)</script>" in texte.replace("\n", "") or "alert(1)" in texte
    assert "Leçon <b>gras</b> & « guillemets »" in texte


def test_demandes_fautives_refusees_en_francais(dossier_demo):
    from services.rapports import DemandeRapport, construire_contenu_rapport

    cas = [(DemandeRapport("trimestriel", 2025), ADMIN, "inconnu"),
           (DemandeRapport("commune", 2025, code_insee="99999"), ADMIN, "absente du territoire"),
           (DemandeRapport("bassin", 1789), ADMIN, "Année du rapport"),
           (DemandeRapport("financeur", 2025, financeur=""), ADMIN, "nom du financeur"),
           (DemandeRapport("financeur", 2025, financeur="Inconnu SA"), ADMIN, "inconnu du registre")]
    for demande, utilisateur, attendu in cas:
        with pytest.raises(ErreurDonnees, match=attendu):
            construire_contenu_rapport(demande, utilisateur, dossier_demo)
    # Le rapport financeur montre des montants : refusé au public et au référent (montants de ses communes seules).
    for utilisateur in (VISITEUR, REFERENT):
        with pytest.raises(ErreurDroits, match="réservé au syndicat"):
            construire_contenu_rapport(DemandeRapport("financeur", 2025, financeur="Région Occitanie"), utilisateur,
                                       dossier_demo)


def test_referent_rapport_complet_de_sa_commune_public_ailleurs(dossier_demo):
    from services.rapports import DemandeRapport, lire_montants

    assert lire_montants(REFERENT, DemandeRapport("commune", 2025, code_insee=SETE))
    assert not lire_montants(REFERENT, DemandeRapport("commune", 2025, code_insee="34157"))
    assert not lire_montants(REFERENT, DemandeRapport("bassin", 2025))
    assert lire_montants(FINANCEUR, DemandeRapport("bassin", 2025))
    assert not lire_montants(ADMIN, DemandeRapport("bassin", 2025, public=True))


def test_ligne_de_commande(rapports, dossier_demo, tmp_path, capsys):
    """Le rapport public du module vient de `desimper rapport --public` ; ici, les refus : rien d'écrit."""
    texte = _texte(rapports["public"])
    assert "Rapport annuel du bassin" in texte and "€" not in texte
    annee = rapports["annee"]
    mauvaise = tmp_path / "commune.pdf"
    code = cli.main(["rapport", "--commune", "99999", "--annee", str(annee), "--sortie", str(mauvaise),
                     "--dossier", str(dossier_demo)])
    assert code == 2 and "absente du territoire" in capsys.readouterr().err
    assert not mauvaise.exists() and not list(tmp_path.glob("*.partiel"))
    code = cli.main(["rapport", "--bassin", "--annee", str(annee), "--sortie", str(tmp_path / "x.txt"),
                     "--dossier", str(dossier_demo)])
    assert code == 2 and ".pdf" in capsys.readouterr().err


def test_rapport_erreur_lisible():
    from services.rapports import DemandeRapport, produire_rapport_erreur

    texte = _texte(produire_rapport_erreur(DemandeRapport("commune", 2025), "Commune « 99999 » absente."))
    assert "Rapport impossible" in texte and "Commune « 99999 » absente." in texte
