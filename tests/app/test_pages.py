"""AppTest : chaque page s'exécute sans exception, sur la démonstration et sans données."""

from pathlib import Path

import pytest
from outils import connecter_appli, lancer_appli
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def lancer_app(monkeypatch, dossier: Path) -> AppTest:
    return lancer_appli(monkeypatch, dossier)


def test_vue_ensemble_sur_la_demo(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Vue d'ensemble"]
    metriques = {m.label: m.value for m in appli.metric}
    assert int(metriques["Nombre d'opérations"].split("\u202fop")[0].replace("\u202f", "")) > 0
    assert metriques["Surface désimperméabilisée"].endswith("m²")
    assert any("démonstration" in w.value.lower() for w in appli.sidebar.warning)
    assert not appli.error


def test_dossier_vide_message_francais_sans_trace(monkeypatch, tmp_path):
    appli = lancer_app(monkeypatch, tmp_path / "absent")
    assert not appli.exception
    assert appli.error, "un message d'erreur doit s'afficher"
    assert "desimper demo" in appli.error[0].value
    assert not appli.title


def test_couche_corrompue_message_francais(monkeypatch, dossier_demo_copie):
    (dossier_demo_copie / "communes_affichage.parquet").write_bytes(b"abimee")
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    assert not appli.exception
    assert "illisible" in appli.error[0].value


def test_methode_liste_chaque_indicateur_et_ses_sources(monkeypatch, dossier_demo):
    from indicateurs.catalogue import lire_catalogue, titre_axe

    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/methode.py").run()
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Méthode"]
    titres = {e.label.strip("*") for e in appli.expander}
    assert titres == {titre_axe(code) for code in lire_catalogue().index}
    textes = " ".join(m.value for m in appli.markdown)
    assert "Formule" in textes and "Source" in textes
    assert len(appli.dataframe) >= 3


def test_filtre_vide_etat_aucune_operation(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.session_state["filtre_statuts"] = []
    appli.run()
    assert not appli.exception, appli.exception
    assert any("Aucune opération" in i.value for i in appli.info)
    metriques = {m.label: m.value for m in appli.metric}
    assert metriques["Surface désimperméabilisée"].startswith("0")
    assert "nan" not in " ".join(metriques.values()).lower()


def test_indicateurs_graphiques_et_telechargements(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    financeur = creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], "une phrase de passe solide",
                             auteur="test")
    magasin.fermer()
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/indicateurs.py").run()
    assert len(appli.get("plotly_chart")) == 4  # vue publique : ni aides par financeur ni coût-efficacité
    _connecter(appli, financeur)
    appli.run()
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Indicateurs"]
    assert len(appli.get("plotly_chart")) >= 7
    assert len(appli.get("download_button")) >= 10
    appli.session_state["filtre_types"] = ["cimetiere"]
    appli.session_state["filtre_communes"] = ["34017"]
    appli.run()
    assert not appli.exception
    assert any("Aucune opération" in i.value for i in appli.info)


@pytest.mark.parametrize("section", ["Opérations", "Trajectoire", "Profil chaleur et imperméabilisation",
                                     "Villes pairs", "Parcelles prioritaires", "Potentiel"])
def test_commune_chaque_section(monkeypatch, dossier_demo, section):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/commune.py")
    appli.query_params["code"] = "34301"
    appli.session_state["commune_section"] = section
    appli.run()
    assert not appli.exception, appli.exception
    assert appli.selectbox[0].value == "34301"
    assert len(appli.metric) >= 6
    assert not any("nan" in m.value.lower() for m in appli.metric)
    if section == "Potentiel":  # carte par parcelle puis par îlot, motifs en info-bulle, tableau des meilleures
        for echelle in ("parcelle", "îlot"):
            appli.session_state["commune_echelle_potentiel"] = echelle
            appli.run()
            assert not appli.exception, appli.exception
            carte = appli.get("component_instance")[0].proto.json_args
            assert "desimper-potentiel" in carte and "Motifs" in carte
            assert ("Îlot" if echelle == "îlot" else "Parcelle") in appli.dataframe[0].value.columns
            assert "Confiance" in " ".join(c.value for c in appli.caption)


def test_commune_sans_operation(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/commune.py")
    appli.query_params["code"] = "34017"
    appli.session_state["filtre_types"] = ["cimetiere"]
    appli.run()
    assert not appli.exception, appli.exception
    assert any("Aucune opération" in i.value for i in appli.info)


@pytest.mark.parametrize("couche", ["Communes", "Chaleur", "Imperméabilisation", "Parcelles d'une commune",
                                    "Potentiel d'une commune"])
def test_carte_chaque_couche(monkeypatch, dossier_demo, couche):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/carte.py")
    appli.session_state["carte_couche"] = couche
    appli.run()
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Carte"]
    if couche == "Potentiel d'une commune":  # classes, confiance et couches manquantes dites sous la carte
        legende = " ".join(c.value for c in appli.caption)
        assert "parcelles :" in legende and "Confiance" in legende and "couches manquantes" in legende
        carte = appli.get("component_instance")[0].proto.json_args
        assert "desimper-potentiel" in carte and "Motifs" in carte


def _ouvrir_fiche(monkeypatch, dossier, identifiant: str):
    """Page Fiche ouverte avec ``?id=identifiant`` dans l'URL, exécutée sans exception."""
    appli = lancer_app(monkeypatch, dossier)
    appli.switch_page("pages/fiche.py")
    appli.query_params["id"] = identifiant
    appli.run()
    assert not appli.exception, appli.exception
    return appli


def test_fiche_operation(monkeypatch, dossier_demo):
    appli = _ouvrir_fiche(monkeypatch, dossier_demo, "3")
    assert appli.selectbox[0].value == 3
    assert len(appli.metric) == 6
    assert any("estimation" in m.value for m in appli.markdown)


@pytest.mark.parametrize("identifiant", ["²", "١٢", "9" * 20_000, "-3", "3.0"])
def test_fiche_identifiant_hostile_dans_l_url(monkeypatch, dossier_demo, identifiant):
    """Issue 13 : un identifiant d'URL qui n'est pas un entier ASCII ouvre la première opération, sans trace."""
    appli = _ouvrir_fiche(monkeypatch, dossier_demo, identifiant)
    assert appli.selectbox[0].index == 0  # première opération de la liste
    assert appli.query_params["id"] == str(appli.selectbox[0].value)  # URL réécrite avec un vrai identifiant


def test_connexion_droits_de_lecture(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], "une phrase de passe solide",
                 auteur="test")
    # issue 11 : par défaut, les chiffres comptent les opérations réalisées (travaux terminés)
    realisees = magasin.lire_operations().query("statut == 'realisee'")
    toutes = len(realisees)
    validees = int((realisees["validation"] == "validee").sum())
    magasin.fermer()
    assert validees < toutes

    def nombre_operations(appli) -> int:
        valeur = {m.label: m.value for m in appli.metric}["Nombre d'opérations"]
        return int(valeur.split("\u202fop")[0].replace("\u202f", ""))

    appli = lancer_app(monkeypatch, dossier_demo_copie)
    assert nombre_operations(appli) == validees  # vue publique : validées seulement
    appli.switch_page("pages/connexion.py").run()
    appli.text_input[0].input("admin@bassin.fr")
    appli.text_input[1].input("mauvais mot de passe")
    appli.button[0].click().run()
    assert not appli.exception
    assert "incorrect" in appli.error[0].value.lower() or "refus" in appli.error[0].value.lower()
    appli.text_input[1].input("une phrase de passe solide")
    appli.button[0].click().run()
    assert not appli.exception, appli.exception
    assert any("Alice Admin" in s.value for s in appli.success)
    appli.switch_page("pages/vue_ensemble.py").run()
    assert nombre_operations(appli) == toutes  # administrateur : tout le registre
    appli.switch_page("pages/connexion.py").run()
    appli.button[0].click().run()
    appli.switch_page("pages/vue_ensemble.py").run()
    assert nombre_operations(appli) == validees


def test_operations_validation_par_l_administrateur(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [],
                         "une phrase de passe solide", auteur="test")
    appli = lancer_app(monkeypatch, dossier_demo_copie)

    connecter_appli(appli, admin)  # vraie session dans le magasin (issue 13)
    appli.session_state["filtre_validations"] = ["a_valider"]
    appli.switch_page("pages/operations.py").run()
    assert not appli.exception, appli.exception
    appli.selectbox(key="operations_choix").select_index(0).run()
    assert not appli.exception, appli.exception
    ident = int(appli.subheader[0].value.split("n° ")[1].split(" ")[0])
    assert magasin.lire_operation(ident)["validation"] == "a_valider"
    next(b for b in appli.button if b.label == "Valider").click().run()
    assert not appli.exception, appli.exception
    assert magasin.lire_operation(ident)["validation"] == "validee"
    journal = magasin.lire_journal(ident)
    assert journal.iloc[-1]["action"] == "validation" and journal.iloc[-1]["auteur"] == "admin@bassin.fr"
    assert any("validée" in s.value for s in appli.success)


def test_operations_visiteur_sans_action(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/operations.py").run()
    assert not appli.exception, appli.exception
    appli.selectbox(key="operations_choix").select_index(0).run()
    assert not appli.exception, appli.exception
    assert not [b for b in appli.button if b.label in ("Valider", "Supprimer", "Restaurer")]
    assert any("réservé" in c.value for c in appli.caption)


def test_saisie_dessin_injecte_puis_enregistrement(monkeypatch, dossier_demo_copie):
    from datetime import date

    import geopandas as gpd
    from shapely.geometry import box, mapping

    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    referent = creer_compte(magasin, "referent@sete.fr", "Camille", "referent", ["34301"],
                            "une phrase de passe solide", auteur="test")
    avant = len(magasin.lire_operations())
    communes = gpd.read_parquet(dossier_demo_copie / "communes.parquet").to_crs(2154).set_index("code_insee")
    centre = communes.loc["34301", "geometry"].representative_point()
    zone = gpd.GeoSeries([box(centre.x, centre.y, centre.x + 30, centre.y + 20)], crs=2154).to_crs(4326).iloc[0]
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    connecter_appli(appli, referent)  # vraie session dans le magasin (issue 13)
    appli.switch_page("pages/saisie.py").run()
    assert not appli.exception, appli.exception
    assert appli.selectbox(key="saisie_commune").options == ["Sète (34301)"]
    appli.session_state["saisie_dessins"] = [{"type": "Feature", "properties": {}, "geometry": mapping(zone)}]
    # libellés du formulaire tirés du modèle de l'opération, inchangés ; le champ ajouté y figure sous le sien
    assert appli.text_input(key="saisie_nom").label == "Nom de l'opération"
    assert appli.date_input(key="saisie_date").label == "Fin des travaux (réelle ou prévue)"
    assert appli.number_input(key="saisie_cout").label == "Coût HT (€)"
    assert appli.number_input(key="saisie_declaree").label == "Surface déclarée (m²), si connue"
    assert appli.number_input(key="saisie_vegetalisee").label == "Surface végétalisée (m²)"
    appli.text_input(key="saisie_nom").input("Cour de l'école des Essais")
    appli.date_input(key="saisie_date").set_value(date(2025, 6, 30))
    appli.number_input(key="saisie_vegetalisee").set_value(250.0)
    appli.run()
    assert not appli.exception, appli.exception
    # Aucun revêtement choisi d'avance : pas d'aperçu, et l'enregistrement est refusé en disant quoi choisir.
    avant_choix = [s for s in appli.selectbox if s.label == "Revêtement avant travaux"]
    apres_choix = [s for s in appli.selectbox if s.label == "Revêtement après travaux"]
    assert len(avant_choix) == len(apres_choix) == 1 and avant_choix[0].value is None and apres_choix[0].value is None
    assert not appli.metric
    assert any("Choisissez le revêtement avant et après travaux de : Dessin 1" in i.value for i in appli.info)
    next(b for b in appli.button if b.label == "Enregistrer l'opération").click().run()
    assert any("Enregistrement refusé : choisissez le revêtement" in e.value for e in appli.error)
    assert len(magasin.lire_operations()) == avant
    next(s for s in appli.selectbox if s.label == "Revêtement avant travaux").set_value("enrobe")
    next(s for s in appli.selectbox if s.label == "Revêtement après travaux").set_value("pelouse")
    appli.run()
    assert not appli.exception, appli.exception
    surfaces = {m.label: m.value for m in appli.metric}
    assert surfaces, ([i.value for i in appli.info], [e.value for e in appli.error])
    assert surfaces["Surface désimperméabilisée"].startswith("600")
    jeton = appli.session_state["saisie_jeton"]
    next(b for b in appli.button if b.label == "Enregistrer l'opération").click().run()
    assert not appli.exception, appli.exception
    assert any("à valider" in s.value for s in appli.success), [e.value for e in appli.error]
    # Formulaire vide, nouveau jeton, lien vers la fiche et « Saisir une autre opération ».
    assert appli.session_state["saisie_jeton"] != jeton
    assert appli.text_input(key="saisie_nom").value == ""
    assert not [s for s in appli.selectbox if s.label == "Revêtement avant travaux"]
    assert any(b.label == "Saisir une autre opération" for b in appli.button)
    operations = magasin.lire_operations()
    assert len(operations) == avant + 1
    nouvelle = operations.sort_values("id").iloc[-1]
    assert nouvelle["nom"] == "Cour de l'école des Essais" and nouvelle["validation"] == "a_valider"
    assert nouvelle["cree_par"] == "referent@sete.fr"
    assert abs(nouvelle["surface_zones_m2"] - 600) < 1
    assert nouvelle["surface_vegetalisee_m2"] == 250.0
    magasin.fermer()


def test_saisie_refusee_au_public(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/saisie.py").run()
    assert not appli.exception
    assert any("réservée" in i.value for i in appli.info)


def test_retours_d_experience_recherche_et_fiche_imprimable(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    appli.switch_page("pages/retours.py").run()
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Retours d'expérience"]
    assert len(appli.get("download_button")) >= 1
    appli.text_input(key="retours_recherche").input("aucun-mot-de-ce-genre").run()
    assert any("Aucun retour" in i.value for i in appli.info)


def test_fiche_imprimable_echappe_le_texte():
    import pandas as pd

    from vues.fiches import construire_fiche_imprimable

    operation = pd.Series({"nom": "<script>alert(1)</script>", "type_site": "parking", "annee": 2024,
                           "retour_experience": "Conseil <b>utile</b>", "contact": None})
    page = construire_fiche_imprimable(operation, "Sète", None, [])
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "Conseil &lt;b&gt;utile" in page


def test_administration_creation_de_compte(monkeypatch, dossier_demo_copie):

    from donnees.comptes import authentifier, creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [],
                         "une phrase de passe solide", auteur="test")
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/administration.py").run()
    assert any("réservée" in i.value for i in appli.info)  # visiteur refusé
    connecter_appli(appli, admin)  # vraie session dans le magasin (issue 13)
    appli.run()
    assert not appli.exception, appli.exception
    appli.text_input[0].input("referent@meze.fr")
    appli.text_input[1].input("Dominique Référent")
    appli.selectbox[0].set_value("referent")
    appli.multiselect[0].set_value(["34157"])
    appli.text_input[2].input("une autre phrase solide")
    next(b for b in appli.button if b.label == "Créer le compte").click().run()
    assert not appli.exception, appli.exception
    assert any("referent@meze.fr" in s.value for s in appli.success), [e.value for e in appli.error]
    compte = authentifier(magasin, "referent@meze.fr", "une autre phrase solide")
    assert compte.role == "referent" and compte.communes == frozenset({"34157"})
    magasin.fermer()


def _referent_sete(magasin):
    from donnees.comptes import creer_compte

    return creer_compte(magasin, "referent@sete.fr", "Camille", "referent", ["34301"],
                        "une phrase de passe solide", auteur="test")


_connecter = connecter_appli


def _operation_validee_de(magasin, code: str) -> dict:
    operations = magasin.lire_operations()
    choisie = operations[(operations["code_insee"] == code) & (operations["validation"] == "validee")
                         & (operations["nb_zones"] > 0)].iloc[0]
    return magasin.lire_operation(int(choisie["id"]))


def _ouvrir_en_modification(monkeypatch, dossier):
    """Référent de Sète connecté, page de saisie ouverte sur une opération validée de Sète."""
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    referent = _referent_sete(magasin)
    operation = _operation_validee_de(magasin, "34301")
    appli = lancer_app(monkeypatch, dossier)
    _connecter(appli, referent)
    appli.query_params["id"] = str(operation["id"])
    appli.switch_page("pages/saisie.py").run()
    return magasin, operation, appli


def test_modification_par_le_referent_repasse_a_valider(monkeypatch, dossier_demo_copie):
    magasin, operation, appli = _ouvrir_en_modification(monkeypatch, dossier_demo_copie)
    assert not appli.exception, appli.exception
    assert appli.title[0].value == f"Modifier l'opération n° {operation['id']}"
    # Formulaire pré-rempli avec l'opération enregistrée.
    assert appli.text_input(key="saisie_nom").value == operation["nom"]
    assert appli.selectbox(key="saisie_commune").disabled
    assert any("repassera « à valider »" in i.value for i in appli.info)
    appli.text_input(key="saisie_nom").input(operation["nom"] + " (tranche 2)").run()
    next(b for b in appli.button if b.label == "Enregistrer les modifications").click().run()
    assert not appli.exception, appli.exception
    assert any("repasse « à valider »" in s.value for s in appli.success), [e.value for e in appli.error]
    relue = magasin.lire_operation(operation["id"])
    assert relue["nom"] == operation["nom"] + " (tranche 2)"
    assert relue["version"] == operation["version"] + 1 and relue["validation"] == "a_valider"
    assert relue["modifie_par"] == "referent@sete.fr"
    assert len(relue["zones"]) == len(operation["zones"])  # zones gardées telles quelles
    journal = magasin.lire_journal(operation["id"])
    assert journal.iloc[-1]["action"] == "modification" and journal.iloc[-1]["auteur"] == "referent@sete.fr"
    magasin.fermer()


def test_modification_concurrente_refusee_avec_message(monkeypatch, dossier_demo_copie):
    magasin, operation, appli = _ouvrir_en_modification(monkeypatch, dossier_demo_copie)
    appli.text_input(key="saisie_nom").input("Ma version").run()
    # Pendant ce temps, l'administrateur enregistre sa propre modification.
    magasin.modifier_operation(operation["id"], operation["version"], {"nom": "Version du syndicat"}, "admin@test")
    next(b for b in appli.button if b.label == "Enregistrer les modifications").click().run()
    assert not appli.exception, appli.exception
    assert any("modifiée par quelqu'un d'autre" in e.value for e in appli.error), [e.value for e in appli.error]
    assert magasin.lire_operation(operation["id"])["nom"] == "Version du syndicat"  # rien d'écrasé
    next(b for b in appli.button if b.label.startswith("Recharger la version enregistrée")).click().run()
    assert not appli.exception, appli.exception
    assert appli.text_input(key="saisie_nom").value == "Version du syndicat"
    assert not appli.error
    magasin.fermer()


def test_saisie_avertit_et_bloque_les_zones_fautives(monkeypatch, dossier_demo_copie):
    import geopandas as gpd
    from shapely.geometry import Polygon, box, mapping

    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    referent = _referent_sete(magasin)
    communes = gpd.read_parquet(dossier_demo_copie / "communes.parquet").to_crs(2154).set_index("code_insee")
    sete = communes.loc["34301", "geometry"]
    centre = sete.representative_point()
    existante = magasin.lire_zones()
    existante = existante[existante["code_insee"] == "34301"].to_crs(2154).iloc[0]

    def dessin(geometrie_l93):
        geometrie = gpd.GeoSeries([geometrie_l93], crs=2154).to_crs(4326).iloc[0]
        return {"type": "Feature", "properties": {}, "geometry": mapping(geometrie)}

    x, y = centre.x, centre.y
    papillon = Polygon([(x, y), (x + 20, y + 20), (x + 20, y), (x, y + 20)])
    loin = box(sete.bounds[2] + 5000, y, sete.bounds[2] + 5100, y + 100)
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    _connecter(appli, referent)
    appli.switch_page("pages/saisie.py").run()
    avant = len(magasin.lire_operations())
    appli.session_state["saisie_dessins"] = [dessin(papillon), dessin(loin), dessin(box(x, y, x + 0.5, y + 0.5)),
                                             dessin(existante.geometry.buffer(-0.5))]
    appli.run()
    assert not appli.exception, appli.exception
    erreurs = " ".join(e.value for e in appli.error)
    avertissements = " ".join(w.value for w in appli.warning)
    assert "Dessin 1 : contour invalide : le contour se recoupe" in erreurs
    assert "Dessin 2 : zone à 100\u202f% hors de la commune Sète" in erreurs
    assert "Dessin 3 : zone minuscule" in avertissements
    assert f"Dessin 4 : chevauche l'opération déjà enregistrée n° {existante['operation_id']}" in avertissements
    bouton = next(b for b in appli.button if b.label == "Enregistrer l'opération")
    assert bouton.disabled
    assert len(magasin.lire_operations()) == avant
    magasin.fermer()


def test_operations_bouton_modifier_ouvre_la_saisie(monkeypatch, dossier_demo_copie):
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    referent = _referent_sete(magasin)
    choisie = _operation_validee_de(magasin, "34301")["id"]
    magasin.fermer()
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    _connecter(appli, referent)
    appli.switch_page("pages/operations.py").run()
    appli.selectbox(key="operations_choix").set_value(choisie).run()
    assert not appli.exception, appli.exception
    modifier = [b for b in appli.button if b.label == "Modifier"]
    assert modifier, "le référent peut modifier une opération de sa commune"
    modifier[0].click().run()
    assert not appli.exception, appli.exception
    assert appli.title[0].value == f"Modifier l'opération n° {choisie}"


@pytest.fixture
def dossier_communes_seules(dossier_demo, tmp_path):
    """Territoire réel tout juste initialisé : fichier du territoire et communes, rien d'autre (base vide)."""
    import json
    import shutil

    dossier = tmp_path / "reel"
    dossier.mkdir()
    for nom in ("communes.parquet", "communes_affichage.parquet"):
        shutil.copy(dossier_demo / nom, dossier / nom)
    territoire = json.loads((dossier_demo / "territoire.json").read_text(encoding="utf-8"))
    territoire.update(nom="Territoire réel d'essai", demo=False)
    (dossier / "territoire.json").write_text(json.dumps(territoire, ensure_ascii=False), encoding="utf-8")
    return dossier


PAGES_TOUTES = ["pages/vue_ensemble.py", "pages/carte.py", "pages/commune.py", "pages/fiche.py", "pages/operations.py",
                "pages/saisie.py", "pages/importer.py", "pages/retours.py", "pages/indicateurs.py", "pages/methode.py",
                "pages/administration.py", "pages/connexion.py"]


@pytest.mark.parametrize("page", PAGES_TOUTES)
def test_territoire_reel_avec_les_seules_communes(monkeypatch, dossier_communes_seules, page):
    appli = lancer_app(monkeypatch, dossier_communes_seules)
    if page != "pages/vue_ensemble.py":
        appli.switch_page(page).run()
    assert not appli.exception, appli.exception
    assert not [e.value for e in appli.error if "Données indisponibles" in e.value]
    assert not any("démonstration" in w.value.lower() for w in appli.sidebar.warning)
    if page == "pages/vue_ensemble.py":
        assert any("occupation du sol" in i.value and "desimper importer occupation" in i.value for i in appli.info)


def test_territoire_reel_carte_de_chaleur_explique_la_couche_manquante(monkeypatch, dossier_communes_seules):
    appli = lancer_app(monkeypatch, dossier_communes_seules)
    appli.switch_page("pages/carte.py").run()
    appli.session_state["carte_couche"] = "Chaleur"
    appli.run()
    assert not appli.exception, appli.exception
    assert any("pas de carte de chaleur" in i.value for i in appli.info)
    appli.session_state["carte_couche"] = "Parcelles d'une commune"
    appli.run()
    assert not appli.exception, appli.exception
    assert any("desimper importer parcelles" in i.value for i in appli.info)


def test_administration_objectifs_et_donnees(monkeypatch, dossier_demo_copie):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.comptes import creer_compte

    magasin = Magasin(url_base(dossier_demo_copie))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [],
                         "une phrase de passe solide", auteur="test")
    magasin.fermer()
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    _connecter(appli, admin)
    appli.switch_page("pages/administration.py").run()
    appli.session_state["admin_section"] = "Objectifs"
    appli.run()
    assert not appli.exception, appli.exception
    next(b for b in appli.button if b.label == "Enregistrer les objectifs").click().run()
    assert not appli.exception, appli.exception
    assert any("Objectifs : aucun changement" in s.value for s in appli.success), [e.value for e in appli.error]
    appli.session_state["admin_section"] = "Nouvelles surfaces imperméabilisées"
    appli.run()
    assert not appli.exception, appli.exception
    next(b for b in appli.button if b.label == "Enregistrer les surfaces imperméabilisées").click().run()
    assert not appli.exception, appli.exception
    assert any("Surfaces imperméabilisées : aucun changement" in s.value for s in appli.success), \
        [e.value for e in appli.error]
    appli.session_state["admin_section"] = "Paramètres"
    appli.run()
    assert not appli.exception, appli.exception
    next(b for b in appli.button if b.label == "Enregistrer les paramètres").click().run()
    assert not appli.exception, appli.exception
    assert any("Paramètres inchangés" in s.value for s in appli.success), [e.value for e in appli.error]
    appli.session_state["admin_section"] = "Règles du potentiel"
    appli.run()
    assert not appli.exception, appli.exception
    assert "poids_impermeabilite" in set(appli.get("arrow_data_frame")[0].value["code"]) if appli.get(
        "arrow_data_frame") else True
    next(b for b in appli.button if b.label == "Enregistrer les paramètres du potentiel").click().run()
    assert not appli.exception, appli.exception
    assert any("Paramètres du potentiel inchangés" in s.value for s in appli.success), [e.value for e in appli.error]
    appli.session_state["admin_section"] = "Données"
    appli.run()
    assert not appli.exception, appli.exception
    couches = appli.dataframe[0].value
    assert {"Couche", "État", "Source", "Licence", "Millésime", "Importée le", "Nombre"} <= set(couches.columns)
    etats = dict(zip(couches["Couche"], couches["État"]))
    assert etats["parcelles cadastrales"] == "importée"
    sources = dict(zip(couches["Couche"], couches["Source"]))
    assert "Démonstration" in sources["parcelles cadastrales"]
    # démonstration : contours réels des communes, avec leur source et leur licence (IGN, Licence Ouverte)
    from donnees.schemas import SCHEMAS

    assert "ADMIN EXPRESS" in sources[SCHEMAS["communes"].libelle]
    licences = dict(zip(couches["Couche"], couches["Licence"]))
    assert "Licence Ouverte" in licences[SCHEMAS["communes"].libelle]
    assert any("IGN" in m.value and "INSEE" in m.value for m in appli.markdown)


def test_territoire_reel_initialise_sans_communes_dit_quoi_importer(monkeypatch, tmp_path):
    import cli

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    assert cli.main(["territoire", "initialiser", "--nom", "Bassin d'essai", "--insee", "34301,34157",
                     "--dossier", str(tmp_path)]) == 0
    appli = lancer_app(monkeypatch, tmp_path)
    assert not appli.exception, appli.exception
    assert any("Données indisponibles" in e.value for e in appli.error)
    assert any("Bassin d'essai" in i.value and "desimper importer communes" in i.value for i in appli.info)


def test_financeur_connecte_sur_la_saisie_apprend_que_son_role_est_en_lecture(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    financeur = creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], "une phrase de passe solide",
                             auteur="test")
    magasin.fermer()
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    _connecter(appli, financeur)
    for page in ("pages/saisie.py", "pages/importer.py"):
        appli.switch_page(page).run()
        assert not appli.exception, appli.exception
        refus = " ".join(i.value for i in appli.info)
        assert "Votre compte (Financeur) ne le permet pas" in refus and "connectez-vous" not in refus


def test_vue_publique_sans_couts_ni_aides(monkeypatch, dossier_demo):
    appli = lancer_app(monkeypatch, dossier_demo)
    metriques = {m.label: m.value for m in appli.metric}
    assert "Coût total HT" not in metriques and "Taux d'aide" not in metriques
    assert "Taux d'atteinte de l'objectif" in metriques and not metriques["Ratio de compensation SDAGE"].endswith("—")
    for page in ("pages/indicateurs.py", "pages/fiche.py"):
        appli.switch_page(page).run()
        assert not appli.exception, appli.exception
        assert not [m for m in appli.metric if m.label.startswith(("Coût", "Taux d'aide"))]
    assert any("ne sont pas publics" in i.value for i in appli.switch_page("pages/indicateurs.py").run().info)


def test_fiche_d_une_operation_approximative_ne_montre_aucune_surface(monkeypatch, dossier_demo_copie):
    import geopandas as gpd
    from shapely.geometry import box

    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    centre = gpd.read_parquet(dossier_demo_copie / "communes.parquet").to_crs(2154).set_index(
        "code_insee").loc["34301", "geometry"].representative_point()
    carre = gpd.GeoSeries([box(centre.x - 5, centre.y - 5, centre.x + 5, centre.y + 5)], crs=2154).to_crs(4326).iloc[0]
    ident = magasin.creer_operation({
        "code_insee": "34301", "nom": "Cour oasis (source presse)", "type_site": "cour_ecole", "statut": "programmee",
        "validation": "validee", "localisation_approximative": True, "surface_declaree_m2": 1800.0,
        "zones": [{"geometrie": carre, "revetement_avant": "enrobe", "revetement_apres": "enrobe"}]}, "test")
    magasin.fermer()
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/fiche.py")
    appli.query_params["id"] = str(ident)
    appli.run()
    assert not appli.exception, appli.exception
    metriques = {m.label: m.value for m in appli.metric}
    assert metriques["Surface désimperméabilisée"] == "—"
    assert metriques["Volume retenu en plus (infiltration + évapotranspiration)"] == "—"
    assert any("1\u202f800\u202fm²" in c.value and "non comptée" in c.value for c in appli.caption)
    assert any("Aucune zone connue" in c.value for c in appli.caption)


def test_fiche_et_galerie_ne_lisent_jamais_un_chemin_hostile(monkeypatch, dossier_demo_copie):
    """Issue 13 : une photo stockée sous « desimper.sqlite » ou un lien symbolique vers territoire.json n'est
    ni affichée ni ouverte, par la fiche, la galerie ni les fenêtres de la carte."""
    import sys

    import PIL.Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_photos import abimer_photos

    ouverts = []
    vraie_ouverture = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda fichier, *a, **k: (ouverts.append(str(fichier)),
                                                                     vraie_ouverture(fichier, *a, **k))[1])
    ident = abimer_photos(dossier_demo_copie)
    appli = lancer_app(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/fiche.py")
    appli.query_params["id"] = str(ident)
    appli.run()
    assert not appli.exception, appli.exception
    assert not appli.get("imgs")  # ses deux photos sont hostiles : aucune image
    for page in ("pages/retours.py", "pages/carte.py"):
        appli.switch_page(page).run()
        assert not appli.exception, appli.exception
    assert not [f for f in ouverts if "desimper.sqlite" in f or "territoire.json" in f or "piege" in f]


# ------------------------------------------------------------------- issue 13 : textes affichés en texte

IMAGE_HOSTILE = "![x](http://attaquant.invalid/x.png)"
LIEN_HOSTILE = "[lien](http://attaquant.invalid/piege)"


def _textes_markdown(appli) -> list[str]:
    """Tout le Markdown émis par la page (markdown, légendes, titres, alertes, libellés de métriques)."""
    textes = []
    for element in (*appli.markdown, *appli.caption, *appli.subheader, *appli.title, *appli.info,
                    *appli.warning, *appli.success, *appli.sidebar.markdown, *appli.sidebar.caption):
        textes.append(str(element.value))
    textes += [str(m.label) for m in appli.metric]
    return textes


def _sans_markdown_actif(textes: list[str]) -> None:
    """Aucun texte n'ouvre une image ou un lien Markdown vers l'attaquant (crochets et parenthèses échappés)."""
    import re

    for texte in textes:
        assert not re.search(r"(?<!\\)!?(?<!\\)\[[^\]]*(?<!\\)\]\((?:http|//)", texte), texte
        assert "](http" not in texte.replace("\\]", ""), texte  # seul un crochet échappé précède « (http »


def test_noms_hostiles_affiches_en_texte(monkeypatch, dossier_demo_copie):
    """Nom d'opération, maître d'ouvrage, légende de photo, commune et territoire porteurs d'une image et d'un
    lien Markdown : affichés en texte (échappés) sur la fiche, la vue d'ensemble et la commune ; jamais de
    lien dans les figures."""
    import json
    import sqlite3

    import geopandas as gpd

    connexion = sqlite3.connect(dossier_demo_copie / "desimper.sqlite")
    ident, code = connexion.execute("SELECT o.id, o.code_insee FROM operation o JOIN photo p ON p.operation_id = o.id "
                                    "WHERE o.validation = 'validee' ORDER BY o.id LIMIT 1").fetchone()
    connexion.execute("UPDATE operation SET nom = ?, maitre_ouvrage = ? WHERE id = ?",
                      (f"Cour {IMAGE_HOSTILE} {LIEN_HOSTILE}", f"Ville {LIEN_HOSTILE}", ident))
    connexion.execute("UPDATE photo SET legende = ? WHERE operation_id = ?", (f"Avant {IMAGE_HOSTILE}", ident))
    connexion.commit()
    connexion.close()
    territoire = json.loads((dossier_demo_copie / "territoire.json").read_text(encoding="utf-8"))
    territoire["nom"] = f"Bassin {IMAGE_HOSTILE}"
    (dossier_demo_copie / "territoire.json").write_text(json.dumps(territoire), encoding="utf-8")
    for couche in sorted(dossier_demo_copie.glob("communes*.parquet")):
        table = gpd.read_parquet(couche)
        if "nom" in table.columns:
            table.loc[table["code_insee"] == code, "nom"] = (f"<a href='http://attaquant.invalid'>Sète</a> "
                                                             f"{LIEN_HOSTILE}")
            table.to_parquet(couche)

    appli = lancer_app(monkeypatch, dossier_demo_copie)
    assert not appli.exception, appli.exception
    _sans_markdown_actif(_textes_markdown(appli))
    assert any("Bassin !\\[x\\]" in t for t in _textes_markdown(appli))  # le nom reste lisible
    appli.switch_page("pages/fiche.py")
    appli.query_params["id"] = str(ident)
    appli.run()
    assert not appli.exception, appli.exception
    textes = _textes_markdown(appli)
    _sans_markdown_actif(textes)
    assert any("Cour !\\[x\\](http\u2060\\:" in t for t in textes), textes
    assert all("!\\[x\\]" in (i.get("caption") or "!\\[x\\]") for i in _legendes_images(appli))
    appli.switch_page("pages/commune.py")
    appli.query_params["code"] = code
    appli.session_state["commune_section"] = "Villes pairs"  # figures de comparaison entre communes
    appli.run()
    assert not appli.exception, appli.exception
    _sans_markdown_actif(_textes_markdown(appli))
    figures = [f.proto.spec for f in appli.get("plotly_chart")]
    assert figures and any("&lt;a href" in f for f in figures)  # nom de commune en texte dans les figures
    assert not any("<a href" in f or "\\u003ca href" in f for f in figures)


def _legendes_images(appli) -> list[dict]:
    legendes = []
    for element in appli.get("imgs"):
        for image in element.proto.imgs:
            legendes.append({"caption": image.caption})
    return legendes


def test_echapper_markdown_et_balises():
    from vues.format import echapper_balises, echapper_markdown

    # U+2060 (gluon invisible) après « http » : pas de lien automatique de GitHub.
    assert echapper_markdown(IMAGE_HOSTILE) == "!\\[x\\](http\u2060\\://attaquant.invalid/x.png)"
    assert echapper_markdown("voir www.attaquant.invalid") == "voir www\u2060.attaquant.invalid"
    assert echapper_markdown("# Titre\n**gras** :red[rouge] $x$ <http://a>") == \
        "\\# Titre \\*\\*gras\\*\\* \\:red\\[rouge\\] \\$x\\$ \\<http\u2060\\://a\\>"
    assert echapper_markdown("- liste") == "\\- liste" and echapper_markdown("Sète (34301)") == "Sète (34301)"
    assert echapper_markdown(None) == "" and echapper_markdown(float("nan")) == ""
    assert echapper_balises("<a href='x'>Sète</a>") == "&lt;a href='x'&gt;Sète&lt;/a&gt;"
    assert echapper_balises(echapper_balises("<b>")) == "&lt;b&gt;" and echapper_balises(3) == 3


# ------------------------------------------------------- issue 13 : Administration → Modifier un compte


def _administration_sur(monkeypatch, dossier):
    """Administrateur connecté sur Administration ; un référent de Sète et Mèze existe."""
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [],
                         "une phrase de passe solide", auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Camille", "referent", ["34301", "34157"], "une phrase de passe solide",
                 auteur="test")
    appli = lancer_appli(monkeypatch, dossier, utilisateur=admin)
    appli.switch_page("pages/administration.py").run()
    appli.selectbox(key="admin_compte").set_value("ref@sete.fr").run()
    assert not appli.exception, appli.exception
    return magasin, appli


def _formulaire_modifier(appli):
    communes = next(m for m in appli.multiselect if m.label == "Communes")
    nom = [t for t in appli.text_input if t.label == "Nom"][-1]
    return communes, nom


def _enregistrer(appli):
    next(b for b in appli.button if b.label == "Enregistrer").click().run()
    assert not appli.exception, appli.exception
    assert not appli.error, [e.value for e in appli.error]


def test_modifier_un_compte_preremplit_les_communes_et_renomme(monkeypatch, dossier_demo_copie):
    magasin, appli = _administration_sur(monkeypatch, dossier_demo_copie)
    communes, nom = _formulaire_modifier(appli)
    assert sorted(communes.value) == ["34157", "34301"] and nom.value == "Camille"
    nom.input("Camille Martin")
    _enregistrer(appli)
    compte = magasin.lire_utilisateur("ref@sete.fr")
    assert compte["nom"] == "Camille Martin" and sorted(compte["communes"]) == ["34157", "34301"]
    assert any("ref@sete.fr modifié" in s.value for s in appli.success)
    magasin.fermer()


def test_modifier_un_compte_ajouter_une_commune_garde_les_autres(monkeypatch, dossier_demo_copie):
    magasin, appli = _administration_sur(monkeypatch, dossier_demo_copie)
    communes, _ = _formulaire_modifier(appli)
    communes.select("34023")
    _enregistrer(appli)
    assert sorted(magasin.lire_utilisateur("ref@sete.fr")["communes"]) == ["34023", "34157", "34301"]
    communes, _ = _formulaire_modifier(appli)
    assert sorted(communes.value) == ["34023", "34157", "34301"]  # formulaire relu après l'écriture
    appli.selectbox(key="admin_compte").set_value("admin@bassin.fr").run()  # autre compte : ses communes
    communes, nom = _formulaire_modifier(appli)
    assert communes.value == [] and nom.value == "Alice Admin"
    magasin.fermer()
