"""Photos : vraies images seulement, 10 Mo au plus, métadonnées retirées."""

import io

import pytest
from PIL import Image

from donnees.photos import enregistrer_photo, nettoyer_photo
from donnees.erreurs import ErreurDonnees


def image_avec_exif(format_image: str = "JPEG") -> bytes:
    image = Image.new("RGB", (40, 30), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "Appareil secret"  # Make
    tampon = io.BytesIO()
    image.save(tampon, format=format_image, exif=exif.tobytes())
    return tampon.getvalue()


def test_jpeg_nettoye_de_ses_metadonnees(tmp_path):
    octets = image_avec_exif()
    assert b"Appareil secret" in octets
    propres, extension = nettoyer_photo(octets, "cour.JPG")
    assert extension == ".jpg" and b"Appareil secret" not in propres
    with Image.open(io.BytesIO(propres)) as image:
        assert image.size == (40, 30) and not image.getexif()
    chemin = enregistrer_photo(octets, "cour.jpg", tmp_path)
    assert chemin.startswith("photos/") and (tmp_path / chemin).exists()


def test_png_accepte():
    propres, extension = nettoyer_photo(image_avec_exif("PNG"), "plan.png")
    assert extension == ".png" and propres.startswith(b"\x89PNG")


@pytest.mark.parametrize("octets, nom, extrait", [
    (b"pas une image", "faux.jpg", r"« faux\.jpg » : ce n'est pas une image lisible \(fichier abîmé"),
    (b"x" * 10, "document.pdf", "extension"),
    (b"x" * (11 * 1024 * 1024), "grosse.jpg",
     "« grosse\\.jpg » : 11\u202f534\u202f336\u202foctets, soit plus que le maximum de 10\u202fMo"),
])
def test_photos_refusees(octets, nom, extrait):
    with pytest.raises(ErreurDonnees, match=extrait):
        nettoyer_photo(octets, nom)


def test_gif_deguise_en_jpeg_refuse():
    tampon = io.BytesIO()
    Image.new("RGB", (5, 5)).save(tampon, format="GIF")
    with pytest.raises(ErreurDonnees, match="pas une image JPEG ou PNG"):
        nettoyer_photo(tampon.getvalue(), "deguise.jpg")


def test_message_d_image_illisible_sans_detail_anglais():
    with pytest.raises(ErreurDonnees) as erreur:
        nettoyer_photo(b"\x89PNG\r\n\x1a\n tronque", "coupee.png")
    assert "BytesIO" not in str(erreur.value) and "cannot" not in str(erreur.value)


def test_photo_de_telephone_redressee_selon_l_orientation_exif():
    """Orientation EXIF 6 (appareil tourné d'un quart de tour) : l'image stockée est droite, sans EXIF."""
    image = Image.new("RGB", (40, 20), "white")
    image.paste((255, 0, 0), (0, 0, 10, 20))  # bande rouge à gauche des pixels bruts
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation : à tourner de 90° dans le sens horaire pour l'afficher
    tampon = io.BytesIO()
    image.save(tampon, format="JPEG", exif=exif.tobytes(), quality=95)
    propres, _ = nettoyer_photo(tampon.getvalue(), "telephone.jpg")
    with Image.open(io.BytesIO(propres)) as stockee:
        assert stockee.size == (20, 40) and not stockee.getexif()
        rouge, vert, bleu = stockee.convert("RGB").getpixel((10, 2))  # bande rouge désormais en haut
        assert rouge > 200 and vert < 60 and bleu < 60
        assert stockee.convert("RGB").getpixel((10, 37)) == pytest.approx((255, 255, 255), abs=20)


# --------------------------------------------------- issue 13 : fichiers nommés par le magasin seulement

import hashlib  # noqa: E402
import sqlite3  # noqa: E402
from datetime import date  # noqa: E402

from shapely.geometry import box  # noqa: E402

from donnees.comptes import Utilisateur  # noqa: E402
from donnees.droits import MagasinProtege  # noqa: E402
from donnees.magasin import Magasin  # noqa: E402
from donnees.photos import resoudre_photo, stocker_photo, verifier_nom_photo  # noqa: E402

# Chemins hostiles de l'issue 13 (et leurs variantes) : aucun n'est un nom de photo du magasin.
CHEMINS_HOSTILES = [
    "desimper.sqlite", "territoire.json", "photos", "photos/", "~/.bashrc", "photos%2f..%2fdesimper.sqlite",
    "photos/%2e%2e%2fdesimper.sqlite", "photos/x.jpg\x00.png", "\x00", "/etc/passwd", "../desimper.sqlite",
    "photos/../desimper.sqlite", "photos\\..\\desimper.sqlite", "photos/sous/x.jpg", "C:/Windows/win.ini",
    "photos/.bashrc", "photos/desimper.sqlite", "photos/x.JPG\n", "photos/x.gif", "photos/\x1b[31mx.jpg",
]


def operation_de_sete(chemin: str) -> dict:
    return {"code_insee": "34301", "nom": "Cour d'école", "type_site": "cour_ecole", "statut": "realisee",
            "validation": "a_valider", "date_fin_travaux": date(2024, 5, 1),
            "zones": [{"geometrie": box(3.69, 43.40, 3.6905, 43.4005), "revetement_avant": "enrobe",
                       "revetement_apres": "pelouse"}],
            "photos": [{"moment": "avant", "chemin": chemin, "legende": "Avant"}]}


@pytest.fixture
def referent(tmp_path):
    magasin = Magasin(f"sqlite:///{(tmp_path / 'desimper.sqlite').as_posix()}")
    magasin.creer_tables()
    magasin.creer_utilisateur("ref@sete.fr", "Camille", "referent", ["34301"], None, auteur="installation")
    compte = Utilisateur.depuis_compte(magasin.lire_utilisateur("ref@sete.fr"))
    yield magasin, MagasinProtege(magasin, compte, {"34301": "Sète"})
    magasin.fermer()


@pytest.mark.parametrize("chemin", CHEMINS_HOSTILES)
def test_facade_refuse_tout_chemin_donne_par_l_appelant(referent, chemin):
    magasin, facade = referent
    with pytest.raises(ErreurDonnees, match="n'est pas un nom de photo du magasin|caractère nul") as erreur:
        facade.creer_operation(operation_de_sete(chemin))
    assert "\x00" not in str(erreur.value) and "\x1b" not in str(erreur.value)
    assert len(magasin.lire_operations()) == 0 and len(magasin.lire_photos()) == 0  # rien écrit
    with pytest.raises(ErreurDonnees, match="n'est pas un nom de photo du magasin|caractère nul"):
        magasin.creer_operation(operation_de_sete(chemin), "test")  # le magasin lui-même refuse aussi


def test_photo_nommee_par_l_empreinte_de_son_contenu(tmp_path):
    octets = image_avec_exif()
    nom, nouvelle = stocker_photo(octets, "../../desimper.sqlite.jpg", tmp_path)  # nom d'origine ignoré
    propres = (tmp_path / nom).read_bytes()
    assert nouvelle and nom == f"photos/{hashlib.sha256(propres).hexdigest()}.jpg"
    assert verifier_nom_photo(nom) == nom and resoudre_photo(nom, tmp_path) == (tmp_path / nom).resolve()
    assert stocker_photo(octets, "autre.jpg", tmp_path) == (nom, False)  # même contenu : même fichier
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == [nom.split("/")[1]]  # aucun temporaire


def test_anciens_noms_toujours_lisibles(tmp_path):
    """Noms des bases existantes (démonstration opNNNN_moment, uuid des saisies) : acceptés et lus."""
    (tmp_path / "photos").mkdir()
    for nom in ("photos/op0012_avant.jpg", "photos/0f1e2d3c4b5a69788796a5b4c3d2e1f0.png"):
        (tmp_path / nom).write_bytes(b"image")
        assert verifier_nom_photo(nom) == nom and resoudre_photo(nom, tmp_path) == (tmp_path / nom).resolve()


@pytest.mark.parametrize("chemin", CHEMINS_HOSTILES)
def test_lecteur_refuse_les_noms_hostiles(tmp_path, chemin):
    (tmp_path / "desimper.sqlite").write_bytes(b"SQLite format 3")
    (tmp_path / "photos").mkdir()
    assert resoudre_photo(chemin, tmp_path) is None


def test_lecteur_refuse_les_liens_symboliques(tmp_path):
    (tmp_path / "desimper.sqlite").write_bytes(b"SQLite format 3")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "lien.jpg").symlink_to(tmp_path / "desimper.sqlite")
    (tmp_path / "photos" / "dossier.jpg").mkdir()
    assert resoudre_photo("photos/lien.jpg", tmp_path) is None
    assert resoudre_photo("photos/dossier.jpg", tmp_path) is None  # pas un fichier ordinaire
    autre = tmp_path / "autre"
    (autre / "photos").mkdir(parents=True)
    (autre / "photos" / "vraie.jpg").write_bytes(b"image")
    (autre / "desimper.sqlite").symlink_to(tmp_path / "desimper.sqlite")
    cible = tmp_path / "avec_lien"
    cible.mkdir()
    (cible / "photos").symlink_to(autre / "photos")  # dossier photos/ remplacé par un lien
    assert resoudre_photo("photos/vraie.jpg", cible) is None
    with pytest.raises(ErreurDonnees, match="lien symbolique"):
        stocker_photo(image_avec_exif(), "cour.jpg", cible)


def abimer_photos(dossier) -> int:
    """Base d'avant l'issue 13 : deux photos d'une opération pointent vers la base et, par un lien
    symbolique, vers territoire.json. Renvoie l'opération."""
    connexion = sqlite3.connect(dossier / "desimper.sqlite")
    lignes = connexion.execute("SELECT id, operation_id FROM photo ORDER BY id LIMIT 2").fetchall()
    (dossier / "photos" / "piege.jpg").symlink_to(dossier / "territoire.json")
    connexion.execute("UPDATE photo SET chemin = 'desimper.sqlite' WHERE id = ?", (lignes[0][0],))
    connexion.execute("UPDATE photo SET chemin = 'photos/piege.jpg' WHERE id = ?", (lignes[1][0],))
    connexion.commit()
    connexion.close()
    return int(lignes[0][1])


def test_verifier_signale_les_photos_hostiles_d_une_ancienne_base(dossier_demo_copie, capsys):
    """Lignes écrites avant l'issue 13 avec un chemin hostile : jamais lues, signalées par la CLI."""
    import cli

    abimer_photos(dossier_demo_copie)
    cli.main(["verifier", "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr().out
    assert "⚠ photos : 2 fichiers photo introuvables ou refusés" in sortie and "« desimper.sqlite »" in sortie


def test_saisie_refusee_ne_retire_pas_une_photo_deja_stockee(tmp_path):
    """Photos nommées par leur contenu : la même image peut servir à deux opérations. Une saisie refusée
    retire les fichiers qu'elle a créés, jamais celui d'une photo déjà stockée."""
    from services.saisie import PhotoDeposee, enregistrer_saisie

    class FacadeQuiRefuse:
        def soumettre_operation(self, operation, jeton):
            self.recue = operation
            raise ErreurDonnees("Refusée.", "operation")

    existante, _ = stocker_photo(image_avec_exif(), "cour.jpg", tmp_path)
    facade = FacadeQuiRefuse()
    with pytest.raises(ErreurDonnees):
        enregistrer_saisie(facade, {"nom": "Cour"}, [PhotoDeposee(image_avec_exif(), "cour.jpg", "avant"),
                                                     PhotoDeposee(image_avec_exif("PNG"), "plan.png", "apres")],
                           [], tmp_path)
    assert [p["chemin"] for p in facade.recue["photos"]][0] == existante
    assert all(set(p) == {"moment", "chemin", "legende"} for p in facade.recue["photos"])
    assert [f.relative_to(tmp_path).as_posix() for f in (tmp_path / "photos").iterdir()] == [existante]


def test_facade_ne_rattache_que_les_photos_ecrites_par_le_magasin(referent, tmp_path, monkeypatch):
    """Magasin du dossier de données courant : un nom bien formé mais choisi par l'appelant (fichier posé à
    côté, ou absent) est refusé ; une photo écrite par le magasin, ou déjà rattachée, est admise."""
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin, facade = referent
    assert facade.dossier_photos == tmp_path.resolve()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "op0001_avant.jpg").write_bytes(image_avec_exif())  # posé par un autre chemin
    for nom in ("photos/op0001_avant.jpg", "photos/" + "0" * 64 + ".jpg"):
        with pytest.raises(ErreurDonnees, match="n'est pas une photo enregistrée par le magasin"):
            facade.creer_operation(operation_de_sete(nom))
    assert len(magasin.lire_operations()) == 0
    nom, _ = stocker_photo(image_avec_exif(), "cour.jpg", tmp_path)
    ident = facade.creer_operation(operation_de_sete(nom))
    # Ancienne photo déjà rattachée (nom d'avant l'issue 13) : gardée lors d'une modification.
    magasin.modifier_operation(ident, 1, {"photos": [{"moment": "avant", "chemin": "photos/op0001_avant.jpg"}]},
                               "installation")
    gardees = [{"moment": "avant", "chemin": "photos/op0001_avant.jpg", "legende": "Gardée"}]
    assert facade.modifier_operation(ident, 2, {"photos": gardees}) == 3
