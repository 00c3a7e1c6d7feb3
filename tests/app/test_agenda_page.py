"""Page « Agenda » (AppTest, issue 16 partie 3) : le public voit l'agenda sans pouvoir s'inscrire ; un référent
s'inscrit puis obtient le bouton .ics ; le syndicat propose un événement (date et heure de Paris) et voit les
inscrits ; texte hostile affiché en texte ; la fiche d'une opération liste ses événements."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from outils import lancer_appli

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from pages.commun import lister_pages
from vues.format import echapper_markdown

MOT_DE_PASSE = "une phrase de passe solide"
SETE = "34301"
HOSTILE = "<script>alert('x')</script> **gras** [piège](javascript:alert(1)) ![img](http://pirate.invalid/x.png)"


@pytest.fixture
def monde(dossier_demo_copie):
    """Comptes du syndicat et d'un référent de Sète ; un événement à venir au titre hostile, lié à une opération
    validée."""
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    comptes = {
        "admin": creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE,
                              auteur="test"),
        "sete": creer_compte(magasin, "ref@sete.fr", "Camille Sète", "referent", [SETE], MOT_DE_PASSE, auteur="test")}
    operations = magasin.lire_operations()
    operation = int(operations[operations["validation"].eq("validee")].sort_values("id")["id"].iloc[0])
    debut = datetime.now().replace(microsecond=0, second=0) + timedelta(days=5)
    ident = magasin.creer_evenement({"genre": "atelier", "titre": HOSTILE, "sujet": HOSTILE + "\nsuite",
                                     "debut": debut, "fin": debut + timedelta(hours=2), "lieu": "**Salle** " + HOSTILE,
                                     "places_max": 10}, "admin@bassin.fr", {"operation": [operation]})
    yield magasin, comptes, ident, operation
    magasin.fermer()


def _agenda(monkeypatch, dossier, compte, ident=None):
    appli = lancer_appli(monkeypatch, dossier, compte)
    if ident is not None:
        appli.query_params["id"] = str(ident)
    appli.switch_page("pages/agenda.py").run()
    assert not appli.exception, appli.exception
    return appli


def _bouton(appli, libelle):
    return next(b for b in appli.button if b.label == libelle)


def _textes(appli) -> str:
    return "\n".join([m.value for m in appli.markdown] + [c.value for c in appli.caption]
                     + [t.value for t in appli.text] + [s.value for s in appli.subheader])


def test_agenda_dans_la_navigation_du_public():
    from donnees.comptes import VISITEUR

    pages = {p["chemin"]: p for p in lister_pages(VISITEUR)}
    assert pages["pages/agenda.py"]["visible"] and pages["pages/agenda.py"]["titre"] == "Agenda"


def test_public_voit_l_agenda_sans_inscription_et_le_texte_hostile_en_texte(monkeypatch, dossier_demo_copie, monde):
    magasin, _, ident, _ = monde
    appli = _agenda(monkeypatch, dossier_demo_copie, None)
    textes = _textes(appli)
    assert echapper_markdown("Atelier : désimperméabiliser une cour d'école") in textes  # démonstration
    assert "0 inscrit(s) sur 10 place(s)" in textes
    # titre hostile : échappé dans le Markdown (aucun lien, image ni gras interprété)
    assert any("\\<script\\>" in m.value or "&lt;script" in m.value or "\\*\\*gras\\*\\*" in m.value
               for m in appli.markdown)
    assert not any("](javascript:" in m.value and "\\]" not in m.value for m in appli.markdown)
    assert any("\\*\\*Salle\\*\\*" in c.value for c in appli.caption)  # lieu : gras non interprété
    assert "M'inscrire" not in [b.label for b in appli.button]
    fiche = _agenda(monkeypatch, dossier_demo_copie, None, ident)
    assert "M'inscrire" not in [b.label for b in fiche.button]
    assert any("réservée aux membres connectés" in c.value for c in fiche.caption)
    assert HOSTILE + "\nsuite" in [t.value for t in fiche.text]  # sujet en texte brut, tel quel
    assert not any(e.label == "Inscrits (0)" for e in fiche.expander)  # liste des inscrits : syndicat seulement
    assert "admin@bassin.fr" not in _textes(fiche)


def test_referent_s_inscrit_puis_obtient_le_bouton_ics(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, _ = monde
    appli = _agenda(monkeypatch, dossier_demo_copie, comptes["sete"], ident)
    assert not appli.get("download_button")
    _bouton(appli, "M'inscrire").click().run()
    assert not appli.exception, appli.exception
    assert any("Inscription enregistrée" in s.value for s in appli.success)
    assert magasin.lire_inscriptions(ident)["email"].tolist() == ["ref@sete.fr"]
    boutons = appli.get("download_button")
    assert len(boutons) == 1 and "Ajouter à mon calendrier (.ics)" in str(boutons[0].proto)
    assert "Me désinscrire" in [b.label for b in appli.button]
    _bouton(appli, "Me désinscrire").click().run()
    assert magasin.lire_inscriptions(ident).empty


def test_syndicat_propose_un_evenement_et_voit_les_inscrits(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, operation = monde
    magasin.inscrire_evenement(ident, "ref@sete.fr", "Camille Sète")
    appli = _agenda(monkeypatch, dossier_demo_copie, comptes["admin"], ident)
    assert any(e.label == "Inscrits (1)" for e in appli.expander)
    avant = len(magasin.lire_evenements())
    appli.text_input(key="agenda_nouveau_titre").input("Réunion de bilan de l'année")
    appli.date_input(key="agenda_nouveau_jour").set_value(datetime(2031, 3, 30).date())  # lendemain du changement
    appli.time_input(key="agenda_nouveau_heure").set_value(time(14, 0))
    appli.text_input(key="agenda_nouveau_lieu").input("Salle du conseil")
    appli.radio(key="agenda_nouveau_mode_point").set_value("Au centre d'une commune")
    appli.run()
    appli.selectbox(key="agenda_nouveau_commune").set_value(SETE)
    _bouton(appli, "Proposer l'événement").click().run()
    assert not appli.exception, appli.exception
    assert any("Événement proposé" in s.value for s in appli.success), [e.value for e in appli.error]
    evenements = magasin.lire_evenements()
    assert len(evenements) == avant + 1
    nouveau = evenements[evenements["titre"].eq("Réunion de bilan de l'année")].iloc[0]
    assert nouveau["debut"] == datetime(2031, 3, 30, 12, 0)  # 14 h à Paris, heure d'été (UTC+2)
    assert nouveau["longitude"] == nouveau["longitude"]  # point posé au centre de Sète
    assert len(magasin.lire_notifications("ref@sete.fr")) >= 2  # l'événement du monde, puis celui-ci


def test_fiche_operation_liste_ses_evenements(monkeypatch, dossier_demo_copie, monde):
    _, _, _, operation = monde
    appli = lancer_appli(monkeypatch, dossier_demo_copie, None)
    appli.query_params["id"] = str(operation)
    appli.switch_page("pages/fiche.py").run()
    assert not appli.exception, appli.exception
    assert any(m.value == "**Événements liés**" for m in appli.markdown)


def test_syndicat_annule_depuis_la_fiche_et_les_inscrits_sont_prevenus(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, _ = monde
    magasin.inscrire_evenement(ident, "ref@sete.fr", "Camille Sète")
    appli = _agenda(monkeypatch, dossier_demo_copie, comptes["admin"], ident)
    _bouton(appli, "Annuler l'événement").click().run()
    assert any("motif d'annulation" in e.value and "vide" in e.value for e in appli.error)  # motif obligatoire
    assert magasin.lire_evenement(ident)["statut"] == "prevu"
    appli.text_input(key=f"agenda_motif_{ident}").input("Salle <b>inondée</b>")
    _bouton(appli, "Annuler l'événement").click().run()
    assert not appli.exception, appli.exception
    assert magasin.lire_evenement(ident)["statut"] == "annule"
    assert any("Motif" in w.value and "inondée" in w.value for w in appli.warning)
    textes = magasin.lire_notifications("ref@sete.fr")["texte"].tolist()
    assert any(t.startswith("Annulé : Atelier") and t.endswith("Motif : Salle <b>inondée</b>") for t in textes)


def test_agenda_vide_d_un_territoire_reel_tout_juste_initialise(monkeypatch, dossier_demo, tmp_path):
    import json
    import shutil

    dossier = tmp_path / "reel"
    dossier.mkdir()
    for nom in ("communes.parquet", "communes_affichage.parquet"):
        shutil.copy(dossier_demo / nom, dossier / nom)
    territoire = json.loads((dossier_demo / "territoire.json").read_text(encoding="utf-8"))
    territoire.update(nom="Territoire réel d'essai", demo=False)
    (dossier / "territoire.json").write_text(json.dumps(territoire, ensure_ascii=False), encoding="utf-8")
    appli = _agenda(monkeypatch, dossier, None)
    assert any("Aucun événement à l'agenda" in i.value for i in appli.info)
