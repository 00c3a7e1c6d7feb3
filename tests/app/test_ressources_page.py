"""Page « Ressources » dans l'application (AppTest, issue 16 partie 1) : le public voit les ressources publiées sans
formulaire ni adresse d'auteur ; un référent dépose une ressource-lien ; le texte hostile est affiché en texte ;
la fiche d'une opération montre ses ressources liées ; la Vue d'ensemble montre les appels à projets à échéance
proche aux membres connectés seulement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from outils import lancer_appli

from donnees.comptes import VISITEUR, creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from pages.commun import lister_pages

MOT_DE_PASSE = "une phrase de passe solide"
SETE = "34301"
HOSTILE = "<script>alert('x')</script> **gras** [piège](javascript:alert(1))"


@pytest.fixture
def monde(dossier_demo_copie):
    """Comptes (syndicat, référent de Sète), une ressource au titre hostile, une masquée, un appel à projets proche
    lié à une opération validée."""
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    comptes = {
        "admin": creer_compte(magasin, "admin.r@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE,
                              auteur="test"),
        "sete": creer_compte(magasin, "ref.r@sete.fr", "Camille Sète", "referent", [SETE], MOT_DE_PASSE,
                             auteur="test")}
    hostile = magasin.creer_ressource({"genre": "guide", "titre": HOSTILE, "resume": HOSTILE,
                                       "url": "https://exemple.fr/guide", "themes": ["parkings"]},
                                      "ref.r@sete.fr", "Camille Sète")
    masquee = magasin.creer_ressource({"genre": "etude", "titre": "Étude masquée par le syndicat",
                                       "url": "https://exemple.fr/etude", "themes": ["parkings"]},
                                      "ref.r@sete.fr", "Camille Sète")
    magasin.masquer_ressource(masquee, "Doublon", "admin.r@bassin.fr")
    appel = magasin.creer_ressource({"genre": "appel_a_projets", "titre": "Appel à projets test imminent",
                                     "url": "https://exemple.fr/aap", "themes": ["financement"],
                                     "echeance": date.today() + timedelta(days=5)}, "admin.r@bassin.fr", "Alice")
    operations = magasin.lire_operations()
    operation = int(operations[operations["validation"].eq("validee")].sort_values("id").iloc[0]["id"])
    magasin.lier_ressource(appel, operation, "admin.r@bassin.fr")
    yield magasin, comptes, {"hostile": hostile, "masquee": masquee, "appel": appel, "operation": operation}
    magasin.fermer()


def _page(monkeypatch, dossier, compte, page="pages/ressources.py", **parametres):
    appli = lancer_appli(monkeypatch, dossier, compte)
    for cle, valeur in parametres.items():
        appli.query_params[cle] = str(valeur)
    appli.switch_page(page).run()
    assert not appli.exception, appli.exception
    return appli


def _textes(appli) -> list[str]:
    return [e.value for groupe in (appli.markdown, appli.caption, appli.text, appli.subheader) for e in groupe]


def test_page_ressources_visible_du_public():
    pages = {p["chemin"]: p["visible"] for p in lister_pages(VISITEUR)}
    assert pages["pages/ressources.py"]


def test_public_voit_les_publiees_sans_formulaire(monkeypatch, dossier_demo_copie, monde):
    _, _, ids = monde
    public = _page(monkeypatch, dossier_demo_copie, None)
    textes = _textes(public)
    assert any("Appel à projets test imminent" in t for t in textes)
    assert not any("Étude masquée" in t for t in textes)
    assert not any(e.label == "Déposer une ressource" for e in public.expander)
    assert not any(e.label == "Thèmes suivis" for e in public.expander)
    assert any("réservé aux membres connectés" in c.value for c in public.caption)
    # Texte hostile : affiché en texte (échappé), jamais interprété
    assert not any("<script>" in m.value and "\\<script" not in m.value for m in public.markdown)
    fiche = _page(monkeypatch, dossier_demo_copie, None, id=ids["hostile"])
    assert any(t.value == HOSTILE for t in fiche.text)  # résumé : st.text
    assert not any("ref.r@sete.fr" in t for t in _textes(fiche))  # pas d'adresse d'auteur
    masquee = _page(monkeypatch, dossier_demo_copie, None, id=ids["masquee"])
    assert any("masquée par le syndicat" in i.value for i in masquee.info)


def test_recherche_sans_accents(monkeypatch, dossier_demo_copie, monde):
    appli = _page(monkeypatch, dossier_demo_copie, None)
    appli.text_input(key="ressources_recherche").input("APPEL A PROJETS imminent").run()
    textes = _textes(appli)
    assert any("Appel à projets test imminent" in t for t in textes)
    assert not any("gras" in t for t in appli.markdown.values)


def test_referent_depose_une_ressource_lien(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, _ = monde
    magasin.suivre_theme("admin.r@bassin.fr", "concertation")
    appli = _page(monkeypatch, dossier_demo_copie, comptes["sete"])
    cle = "ressource_deposer"
    appli.text_input(key=f"{cle}_titre").input("Guide de concertation <b>écoles</b>")
    appli.multiselect(key=f"{cle}_themes").set_value(["concertation"])
    appli.text_input(key=f"{cle}_url").input("javascript:alert(1)")
    next(b for b in appli.button if b.label == "Déposer").click().run()
    assert any("http" in e.value for e in appli.error)  # lien refusé en français
    appli.text_input(key=f"{cle}_url").input("https://www.eaurmc.fr/concertation")
    next(b for b in appli.button if b.label == "Déposer").click().run()
    assert not appli.exception, appli.exception
    assert any("déposée" in s.value for s in appli.success), [e.value for e in appli.error]
    table = magasin.lire_ressources()
    nouvelle = table[table["titre"].eq("Guide de concertation <b>écoles</b>")]
    assert len(nouvelle) == 1 and nouvelle.iloc[0]["auteur_email"] == "ref.r@sete.fr"
    assert magasin.lire_notifications("admin.r@bassin.fr")["genre"].tolist() == ["nouvelle_ressource"]


def test_fiche_operation_montre_ses_ressources(monkeypatch, dossier_demo_copie, monde):
    _, comptes, ids = monde
    public = _page(monkeypatch, dossier_demo_copie, None, page="pages/fiche.py", id=ids["operation"])
    assert any(s.value == "Ressources liées" for s in public.subheader)
    assert not any(e.label == "Lier une ressource existante" for e in public.expander)
    sete = _page(monkeypatch, dossier_demo_copie, comptes["sete"], page="pages/fiche.py", id=ids["operation"])
    assert any(e.label == "Lier une ressource existante" for e in sete.expander)


def test_vue_ensemble_echeance_proche_seulement_connecte(monkeypatch, dossier_demo_copie, monde):
    _, comptes, _ = monde
    public = _page(monkeypatch, dossier_demo_copie, None, page="pages/vue_ensemble.py")
    assert not any("Appels à projets à échéance proche" in m.value for m in public.markdown)
    membre = _page(monkeypatch, dossier_demo_copie, comptes["sete"], page="pages/vue_ensemble.py")
    assert any("Appels à projets à échéance proche" in m.value for m in membre.markdown)


def test_nom_de_fichier_hostile_et_moderation(monkeypatch, dossier_demo_copie, monde):
    """Fichier au nom hostile : nom affiché échappé, bouton de téléchargement (pièce jointe) ; le syndicat masque
    avec un motif, la ressource disparaît pour le public."""
    magasin, comptes, _ = monde
    ident = magasin.creer_ressource({"genre": "fiche_materiau", "titre": "Fiche pavés", "themes": ["parkings"]},
                                    "ref.r@sete.fr", "Camille Sète",
                                    (b"%PDF-1.7\n%%EOF\n", "<img src=x onerror=alert(1)>.pdf"), dossier_demo_copie)
    public = _page(monkeypatch, dossier_demo_copie, None, id=ident)
    legendes = [c.value for c in public.caption]
    assert any("Fichier : \\<img src=x onerror=alert(1)\\>.pdf" in c for c in legendes), legendes  # échappé
    assert len(public.get("download_button")) == 1  # pièce jointe, jamais rendue dans la page
    admin = _page(monkeypatch, dossier_demo_copie, comptes["admin"], id=ident)
    admin.text_input(key=f"ressource_motif_{ident}").input("Doublon d'une autre fiche")
    next(b for b in admin.button if b.label == "Masquer").click().run()
    assert any("masquée" in s.value for s in admin.success), [e.value for e in admin.error]
    assert magasin.lire_ressource(ident)["statut"] == "masquee"
    apres = _page(monkeypatch, dossier_demo_copie, None)
    assert not any("Fiche pavés" in t for t in _textes(apres))


def test_ressources_partagees_d_un_autre_territoire(monkeypatch, dossier_demo, tmp_path):
    """Instance à deux territoires : la page Ressources de « thau » liste, en lecture seule et marquée « du
    territoire … », la ressource partagée (et publiée) de « etang », pas celle qu'il garde pour lui."""
    import json
    import shutil

    racine = tmp_path / "instance"
    for code in ("thau", "etang"):
        shutil.copytree(dossier_demo, racine / code)
    (racine / "instance.json").write_text(json.dumps({
        "territoires": [{"code": "thau", "nom": "Bassin de Thau", "dossier": "thau"},
                        {"code": "etang", "nom": "Étang voisin", "dossier": "etang"}], "defaut": "thau"}),
        encoding="utf-8")
    magasin = Magasin(url_base(racine / "etang"))
    try:
        magasin.creer_tables()
        magasin.creer_ressource({"genre": "cahier_des_charges", "titre": "CCTP cour perméable de l'étang",
                                 "themes": ["cours_ecole"], "partagee_territoires": True}, "ref@etang.fr", "Réf",
                                (b"%PDF-1.7\n%%EOF\n", "cctp.pdf"), racine / "etang")
        magasin.creer_ressource({"genre": "etude", "titre": "Étude interne de l'étang", "url": "https://exemple.fr",
                                 "themes": ["parkings"]}, "ref@etang.fr", "Réf")
    finally:
        magasin.fermer()
    monkeypatch.setenv("DESIMPER_INSTANCE", str(racine))
    appli = _page(monkeypatch, racine / "thau", None)
    textes = _textes(appli)
    assert any("CCTP cour perméable de l'étang" in t for t in textes)
    assert any(t.startswith("du territoire Étang voisin") for t in (c.value for c in appli.caption))
    assert not any("Étude interne de l'étang" in t for t in textes)
    assert any("partagée(s) par d'autres territoires" in c.value for c in appli.caption)
    assert appli.get("download_button")  # fichier de l'autre territoire : téléchargement au clic


def test_auteur_modifie_sa_ressource_les_autres_non(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ids = monde
    meze = creer_compte(magasin, "ref.r@meze.fr", "Dominique Mèze", "referent", ["34157"], MOT_DE_PASSE,
                        auteur="test")
    autre = _page(monkeypatch, dossier_demo_copie, meze, id=ids["hostile"])
    assert not any(e.label == "Modifier cette ressource" for e in autre.expander)
    assert not any(b.label == "Masquer" for b in autre.button)
    auteur = _page(monkeypatch, dossier_demo_copie, comptes["sete"], id=ids["hostile"])
    cle = f"ressource_modifier_{ids['hostile']}"
    assert any(e.label == "Modifier cette ressource" for e in auteur.expander)
    auteur.text_input(key=f"{cle}_titre").input("Guide corrigé")
    next(b for b in auteur.button if b.label == "Enregistrer").click().run()
    assert not auteur.exception, auteur.exception
    assert any("Ressource enregistrée" in s.value for s in auteur.success), [e.value for e in auteur.error]
    ressource = magasin.lire_ressource(ids["hostile"])
    assert ressource["titre"] == "Guide corrigé" and ressource["version"] == 2
    assert ressource["url"] == "https://exemple.fr/guide"  # document inchangé
